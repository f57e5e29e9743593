"""Option value types shared by the `bench` subcommands: numbers with their ranges, on/off, and
the check that an output folder can be written, so bad input fails before any work starts."""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Callable


def on_off(text: str) -> bool:
    """An on/off flag value."""
    if text.lower() in ("on", "true", "1", "yes"):
        return True
    if text.lower() in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, not {text!r}")


def at_least(kind: type, minimum: float, strict: bool = False) -> Callable[[str], float]:
    """An argparse type: a `kind` number >= `minimum` (> with `strict`); argparse names the flag
    in its error."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"not {text!r}") from None
        if value < minimum or (strict and value == minimum) or value != value:
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {minimum}, not {text}")
        return value

    parse.__name__ = f"{kind.__name__} {'>' if strict else '>='} {minimum}"
    return parse


POSITIVE_INT = at_least(int, 1)
NON_NEGATIVE_INT = at_least(int, 0)
POSITIVE_FLOAT = at_least(float, 0, strict=True)
NON_NEGATIVE_FLOAT = at_least(float, 0)


def check_writable(folder: str | os.PathLike, setting: str) -> Path:
    """`folder`, created if needed, after proving a file can be written in it; else a ValueError
    naming the `setting` (a flag or environment variable) to change."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ValueError(f"{setting}: cannot write into {folder} ({err.strerror or err}); "
                         f"point {setting} at a writable folder") from err
    return folder
