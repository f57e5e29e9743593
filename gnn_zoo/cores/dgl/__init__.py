"""DGL implementations of the cores (import DGL; loaded only when a dgl core is created)."""
