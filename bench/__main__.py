"""`python -m bench` runs the `bench` command line."""

from bench.commands.cli import main

raise SystemExit(main())
