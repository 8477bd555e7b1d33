"""Export workloads: turn a trained model into a deployable file."""
