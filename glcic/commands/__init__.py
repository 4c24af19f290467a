"""One module per user task. Each defines ``register(subparsers)`` and ``run(args) -> int``.

Modules here import heavy libraries (torch, OpenCV) inside ``run`` only, so that
``glcic --help`` stays fast.
"""
