"""GHN checkpoints in the format of the reference GHN-3 code's model hub (SamsungSAILMontreal/ghn3
on Hugging Face: ghn3tm8.pt, ghn3sm8.pt, ghn3lm8.pt, ghn3xlm16.pt): a bare state dict pickled
by joblib, whose configuration is read from its key names. GHN-3 files become our GHN with the
`transformer` core and GHN-3's decoder; GHN-2 files in that format (keys `gnn.gru.`) our GHN-2.

The files cannot be downloaded here: download one (e.g. `huggingface-cli download
SamsungSAILMontreal/ghn3 ghn3tm8.pt`) and pass its path. They are read with a restricted
unpickler that builds only an OrderedDict of tensors, so a file cannot run code on load.
"""

from __future__ import annotations

import collections
import io
import math
import os
import pickle
import re

import torch
import torch._utils

from .ghn import GHN
from .reference import RENAMES, renamed

HUB_REPOSITORY = "SamsungSAILMontreal/ghn3"  # where the released files are (Hugging Face)
HUB_FILES = ("ghn3tm8.pt", "ghn3sm8.pt", "ghn3lm8.pt", "ghn3xlm16.pt")
PICKLE_MAGIC = b"\x80"  # a plain pickle (joblib adds nothing for tensors); torch.save files are zip archives


def is_hub_file(path: str | os.PathLike) -> bool:
    """Whether `path` is a plain pickle (the hub's format) rather than a torch.save zip archive."""
    with open(path, "rb") as f:
        return f.read(1) == PICKLE_MAGIC


class StateDictUnpickler(pickle.Unpickler):
    """Unpickles an OrderedDict of tensors and nothing else (each storage through torch.load's
    weights-only reader)."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return torch._utils._rebuild_tensor_v2
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return lambda data: torch.load(io.BytesIO(data), weights_only=True)
        raise pickle.UnpicklingError(f"a GHN hub file holds tensors only, not {module}.{name}")


def read_hub_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The state dict of a hub file; a ValueError naming the file when it is not one."""
    try:
        with open(path, "rb") as f:
            state = StateDictUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, RuntimeError) as err:
        raise ValueError(f"{path} is not a GHN checkpoint in the {HUB_REPOSITORY} hub's format ({err})") from err
    if not isinstance(state, dict) or "embed.weight" not in state:
        raise ValueError(f"{path} is not a GHN checkpoint in the {HUB_REPOSITORY} hub's format (no embed.weight)")
    return state


def hub_config(state: dict[str, torch.Tensor]) -> dict:
    """Our GHN's arguments for a hub state dict, read from its keys as the reference does: GHN-2
    if any key has `gnn.gru.`; hidden from the embedding; s from the spatial table (9 rows: 11,
    else 16); the channel block from the decoder's last layer; layers from the count of `ln1`
    keys; 16 heads beyond hidden 64, else 8."""
    hidden = state["embed.weight"].shape[1]
    num_classes = len(next(v for k, v in state.items() if k.startswith("decoder.class_layer_predictor")))
    max_side = 11 if state["shape_enc.embed_spatial.weight"].shape[0] == 9 else 16
    block = math.isqrt(state["decoder.conv.2.weight"].shape[0])
    common = dict(
        backend="pyg",
        hidden=hidden,
        num_classes=num_classes,
        max_side=max_side,
        max_hops=50,
        layernorm="ln.weight" in state,
        scaling=True,
    )
    if any("gnn.gru." in k for k in state):
        if block != 2 * hidden:
            raise ValueError(
                f"GHN-2 hub files with a channel block of {block} (not 2 x hidden {hidden}) are not supported"
            )
        return dict(core="gatedgnn", layers=1, view="sweep", **common)
    layers = sum(1 for k in state if re.fullmatch(r"gnn\.\d+\.ln1\.weight", k))
    return dict(
        core="transformer", layers=layers, view="virtual", heads=16 if hidden > 64 else 8, decoder="ghn3", **common
    )


# GHN-3 names (after GHN-2's RENAMES) -> ours; the qkv projection is split in three
GHN3_RENAMES = (
    ("centrality_embed_in.", "core.centrality_in."),
    ("centrality_embed_out.", "core.centrality_out."),
    ("input_dist_embed.", "core.input_distance."),
    ("gnn.0.attn.edge_embed.embed.", "core.edge_embed."),
    ("gnn.0.attn.proj_e.", "core.edge_mlp."),
)
BLOCK_RENAMES = (
    ("ln1.", "attn_layer_norm."),
    ("ln2.", "ffn_layer_norm."),
    ("attn.to_out.0.", "attn.out_proj."),
    ("ff.net.", "ffn."),
)


def our_names(name: str, value: torch.Tensor) -> dict[str, torch.Tensor]:
    """Our entries for one hub entry (a KeyError names one we do not know)."""
    ours = renamed(name, GHN3_RENAMES)
    if ours is not None:
        return {ours: value}
    block = re.fullmatch(r"gnn\.(\d+)\.(.*)", name)
    if block and not name.startswith(("gnn.gru.", "gnn.mlp")):
        layer, rest = block.groups()
        if rest == "attn.to_qkv.weight":
            q, k, v = value.chunk(3)
            return {f"core.blocks.{layer}.attn.{p}_proj.weight": t for p, t in zip("qkv", (q, k, v))}
        ours = renamed(rest, BLOCK_RENAMES)
        if ours is None:
            raise KeyError(f"unknown GHN-3 weight {name!r}")
        return {f"core.blocks.{layer}.{ours}": value}
    ours = renamed(name, RENAMES)
    if ours is None:
        raise KeyError(f"unknown hub GHN weight {name!r}")
    return {ours: value}


def from_hub(path: str | os.PathLike) -> GHN:
    """Our GHN with the weights of a hub file (module docstring), in eval mode. Every tensor of
    the file is used and every weight of ours set, except the type embedding's `extendable` row
    (GHN-2's vocabulary has 15 types), which keeps its init."""
    state = read_hub_state(path)
    ghn = GHN(**hub_config(state))
    ours = {k: v for k, v in ghn.state_dict().items() if not k.startswith("core.")}
    ours.update({f"core.{k}": v for k, v in ghn.core.pyg_state_dict().items()})
    unset = set(ours) - {"type_embed.weight"}
    for name, value in state.items():
        for key, tensor in our_names(name, value).items():
            if key not in ours:
                raise ValueError(f"{path}: {name} has no counterpart in our GHN ({key})")
            if key == "type_embed.weight":
                ours[key][: len(tensor)] = tensor
                continue
            if ours[key].numel() != tensor.numel():
                raise ValueError(f"{path}: {name} has shape {tuple(tensor.shape)}, our {key} {tuple(ours[key].shape)}")
            ours[key] = tensor.reshape(ours[key].shape)  # Linear (GHN-3) and squeezed (hub GHN-2) decoder layers
            unset.discard(key)
    if unset:
        raise ValueError(f"{path} lacks weights for {sorted(unset)[:5]}: not a complete hub GHN checkpoint")
    ghn.load_state_dict({k: v for k, v in ours.items() if not k.startswith("core.")}, strict=False)
    ghn.core.load_pyg_state_dict({k[5:]: v for k, v in ours.items() if k.startswith("core.")})
    return ghn.eval()
