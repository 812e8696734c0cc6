"""Accuracy evaluation of FIP models on held-out motion: metrics, runner (fip-eval), baselines, report."""
