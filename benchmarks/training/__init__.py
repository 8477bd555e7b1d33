"""Training workloads."""
