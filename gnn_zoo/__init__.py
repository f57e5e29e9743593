"""gnn_zoo: pluggable GNN cores (PyG and DGL) and the graph hypernetwork that hosts them (issue 3)."""
