"""Re-run a `bench` command as several ranks on this machine (torchrun --standalone)."""

from __future__ import annotations

import sys

from torch.distributed.run import get_args_parser, run


def launch(nproc: int, argv: list[str]) -> int:
    """Re-run this `bench` command as `nproc` ranks on this machine (torchrun --standalone)."""
    args = get_args_parser().parse_args(["--standalone", "--nproc_per_node", str(nproc), "-m", "bench", *argv])
    try:
        run(args)
    except Exception as err:  # torchrun raises ChildFailedError with the failing rank's traceback already printed
        print(f"bench: {nproc}-process run failed: {err}", file=sys.stderr)
        return 1
    return 0
