"""ghnbench harness: the `bench` command line, `bench.Evaluator` for any parameter predictor and
`bench.load_data` for the data sets the GHNs train on.

Names are imported on first use (PEP 562), so `python -m bench` starts without torch."""

from typing import TYPE_CHECKING

from deepnets1m.lazy import lazy_exports

_WHERE = {"Evaluator": "harness.evaluator", "load_data": "harness.data"}
__all__ = sorted(_WHERE)

__getattr__ = lazy_exports(__name__, _WHERE)

if TYPE_CHECKING:  # the lazy names' types, for type checkers (never imported at run time)
    from bench.harness.data import load_data as load_data
    from bench.harness.evaluator import Evaluator as Evaluator
