"""The torch-free inference runtime (NumPy + onnxruntime): what an embedded ROS computer needs to track.

- ``graph``: the ONNX graphs' contract and loading (the shipped ``fip_default_*.onnx`` by default);
- ``engine``: the streaming engine (start-up from the calibration pose, batched bodies, per-body reset);
- ``sync``: the approximate-time synchroniser of the six sensor streams;
- ``tracker``: one person's tracking rules (validation, calibration window, gaps, held/lost sensors,
  status), ROS-free, and ``Team``, which steps several people in one batched call.
Calibration and input maths come from ``fip_ros.core`` (``calibration``, ``gravity``, ``so3``), which the
torch code uses too. Importing this package never imports torch.
"""
