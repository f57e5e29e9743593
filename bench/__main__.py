"""`python -m bench` runs the `bench` command line."""

from .cli import main

raise SystemExit(main())
