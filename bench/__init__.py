"""ghnbench harness: the `bench` command line."""
