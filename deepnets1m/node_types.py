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


def conv_node_type(groups: int, dilation: int | tuple[int, ...]) -> str:
    """Node type of a conv weight, as GHN-2 assigns it: a grouped conv is dil_conv when dilated,
    else sep_conv (only the depthwise part of a separable conv); every other conv is conv."""
    if groups == 1:
        return "conv"
    dilated = any(d > 1 for d in dilation) if isinstance(dilation, tuple) else dilation > 1
    return "dil_conv" if dilated else "sep_conv"
