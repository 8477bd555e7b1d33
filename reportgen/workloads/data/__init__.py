"""Data sets shared by both frameworks, as framework-neutral NumPy arrays."""
