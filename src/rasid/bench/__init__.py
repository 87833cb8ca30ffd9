"""Benchmarks of rasid against the baselines its users know (issue 8): quality on ANERCorp, training
speed and memory, CPU inference (PyTorch, ONNX fp32/int8, HTTP) and scaling with article length.

Every figure is reported as a ratio against a baseline measured in the same run. Entry point:
`rasid.bench.runner.run_bench` (CLI: scripts/bench.py, `make bench` / `make bench-quick`).
"""
