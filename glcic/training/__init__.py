"""Training: the paper's Algorithm 1 (see loop.py), checkpoints and torch.distributed glue."""
