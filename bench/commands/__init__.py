"""The `bench` command line: parsing and dispatch only."""
