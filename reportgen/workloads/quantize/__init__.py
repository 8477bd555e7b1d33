"""Post-training INT8 quantization in each runtime."""
