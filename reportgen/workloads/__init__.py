"""Benchmarks comparing PyTorch and TensorFlow implementations."""
