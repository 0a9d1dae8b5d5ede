"""Training and evaluation: data loading, samplers, the training loop, metrics."""
