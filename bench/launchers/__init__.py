"""Launchers: local and Slurm sweeps, torchrun ranks, thread shares of the CPUs."""
