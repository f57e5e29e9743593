"""The node-type vocabulary of architecture graphs: the one place it is defined."""

# The 15 node types of GHN-2 (Knyazev et al., 2021), then `extendable`: our fallback type for a
# parametric module outside that vocabulary (nn.Embedding, nn.PReLU, a user's leaf module, ...).
NODE_TYPES: tuple[str, ...] = (
    "max_pool",
    "avg_pool",
    "sep_conv",
    "dil_conv",
    "conv",
    "msa",
    "cse",
    "sum",
    "concat",
    "input",
    "bias",
    "bn",
    "ln",
    "pos_enc",
    "glob_avg",
    "extendable",
)
NODE_TYPE_ID: dict[str, int] = {name: i for i, name in enumerate(NODE_TYPES)}
