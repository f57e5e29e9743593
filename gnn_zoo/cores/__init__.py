"""GNN core implementations, one file per GNN per backend."""
