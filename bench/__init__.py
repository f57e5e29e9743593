"""ghnbench harness: the `bench` command line, and `bench.Evaluator` for any parameter predictor.

Names are imported on first use (PEP 562), so `python -m bench` starts without torch."""

from deepnets1m.lazy import lazy_exports

_WHERE = {"Evaluator": "harness.evaluator"}
__all__ = sorted(_WHERE)

__getattr__ = lazy_exports(__name__, _WHERE)
