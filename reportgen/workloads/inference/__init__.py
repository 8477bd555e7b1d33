"""Inference workloads: load ResNet-18 and classify a batch, once per framework."""
