"""PyTorch Geometric implementations of the cores."""
