"""The flags of `bench` runs short enough for unit tests: 2 training steps, 2 eval nets of 40
images, a GHN of hidden 16."""

SHORT = {
    "steps": "2",
    "meta-batch": "1",
    "batch-size": "16",
    "hidden": "16",
    "eval-nets": "2",
    "eval-images": "40",
    "sgd-steps": "1",
    "sgd-nets": "1",
}


def short_run(no_progress: bool = True, **changes: str | None) -> list[str]:
    """SHORT's flags with `changes` (flag names with _ for -, a value or None to leave the flag
    out), then --no-progress unless `no_progress` is False."""
    flags = {**SHORT, **{name.replace("_", "-"): value for name, value in changes.items()}}
    return [part for flag, value in flags.items() if value is not None for part in (f"--{flag}", value)] + (
        ["--no-progress"] if no_progress else []
    )
