"""Where ghnbench keeps its files by default."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Root of ghnbench's files: $GHNBENCH_HOME, else ~/.cache/ghnbench."""
    return Path(os.environ.get("GHNBENCH_HOME") or Path.home() / ".cache" / "ghnbench")


def graph_root() -> Path:
    """Default folder of the graph cache."""
    return home() / "graphs"


def checkpoint_root() -> Path:
    """Default folder of GHN checkpoints."""
    return home() / "checkpoints"


def results_root() -> Path:
    """Default folder of result records."""
    return home() / "results"


def db_path() -> Path:
    """Default SQLite index of the leaderboard."""
    return home() / "leaderboard.sqlite"


def properties_root() -> Path:
    """Default folder of property-prediction records and their shared labels."""
    return home() / "properties"
