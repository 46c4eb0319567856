"""Load and speed benchmarks: the hub beside lean reference apps (``python -m bench.run``)."""
