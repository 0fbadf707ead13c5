"""Your layers (layers.py) and the numerical gradient checker (gradient_check.py)."""
