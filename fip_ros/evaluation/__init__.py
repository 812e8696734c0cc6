"""Accuracy evaluation of FIP models on held-out motion: runner (fip-eval), baselines, plots, report (the
metrics themselves are ``fip_ros.core.metrics``)."""

# fip-eval's extra conditions beside clean IMUs (evaluate.py)
CONDITIONS = ("corrupted", "error_terms", "shape")
