"""Training: the paper's Algorithm 1.

``loop.py`` (the loop, top to bottom), ``step.py`` (the phases and one iteration),
``batches.py`` (seeded batches per rank), ``outputs.py`` (logs and sample grids),
``checkpoint.py`` (training state on disk) and ``distributed.py`` (torchrun glue).
"""
