"""`make bench`: the engine's training steps timed against hand-derived numpy and PyTorch.

models.py builds each benchmark model three ways, numpy_reference.py holds the
hand-derived numpy steps, and ``python -m benchmarks`` runs them (see __main__.py).
"""
