"""Benchmarks of chainrule against hand-written NumPy, PyTorch and JAX (see README.md here)."""
