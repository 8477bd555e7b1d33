"""Reference models implemented in both PyTorch and Keras."""
