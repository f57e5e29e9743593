"""Checkpoints in the reference GHN-2 code's format (its ghn2_cifar10.pt / ghn2_imagenet.pt
layout: {"config", "state_dict", "epoch"}) loaded into our GHN: the same model, renamed.

The reference's names map one to one onto ours; what differs: its type embedding has GHN-2's 15
rows (ours adds `extendable`, whose row keeps its fresh init and is used only by models with
parameters outside GHN-2's vocabulary), and its decoder holds the conv decoder and 1-D decoder
under other names. The shape encoder's tables have the same layout (an entry's index, then the
"no shape" row), so they copy as they are.
"""

from __future__ import annotations

import os

import torch

from .ghn import GHN

# reference name prefix -> ours; the gated GNN's message MLPs are `mlp` (1-hop) and `mlp_ve` (virtual edges)
RENAMES = (
    ("ln.", "norm."),
    ("embed.", "type_embed."),
    ("shape_enc.embed_spatial.", "shape_enc.spatial."),
    ("shape_enc.embed_channel.", "shape_enc.channel."),
    ("gnn.mlp.fc.", "core.mlp."),
    ("gnn.mlp_ve.fc.", "core.mlp_sp."),
    ("gnn.gru.", "core.gru."),
    ("decoder.fc.0.", "decoder.fc."),
    ("decoder.conv.0.", "decoder.conv1."),
    ("decoder.conv.2.", "decoder.conv2."),
    ("decoder.class_layer_predictor.1.", "decoder.classifier."),
    ("decoder_1d.fc.", "decoder.vector."),
    ("bias_class.1.", "decoder.classifier_bias."),
)
SUPPORTED = {"hypernet": ("gatedgnn",), "decoder": ("conv",)}


def renamed(name: str, renames: tuple[tuple[str, str], ...]) -> str | None:
    """`name` with the first of `renames`' (prefix, replacement) that it starts with applied; None
    when none does."""
    for theirs, ours in renames:
        if name.startswith(theirs):
            return ours + name[len(theirs) :]
    return None


def reference_name(name: str) -> str:
    """Our name of a reference state-dict entry (a KeyError names one we do not know)."""
    ours = renamed(name, RENAMES)
    if ours is None:
        raise KeyError(f"unknown reference GHN weight {name!r}")
    return ours


def ghn_config(config: dict) -> dict:
    """Our GHN's arguments for a reference checkpoint's `config`: GHN-2 (virtual edges, scaling,
    LayerNorm) or GHN-1 (none of them); its max_shape's side is our max_side."""
    for key, allowed in SUPPORTED.items():
        if config.get(key, allowed[0]) not in allowed:
            raise ValueError(f"reference checkpoints with {key}={config[key]!r} are not supported (only {allowed})")
    virtual = bool(config.get("ve", True))
    return dict(
        core="gatedgnn",
        backend="pyg",
        hidden=int(config.get("hid", 32)),
        layers=1,
        num_classes=int(config["num_classes"]),
        max_hops=50 if virtual else 1,
        layernorm=bool(config.get("layernorm", True)),
        max_side=int(config["max_shape"][-1]),
        scaling=bool(config.get("weight_norm", True)),
        view="sweep",
    )


def from_reference(path: str | os.PathLike, map_location="cpu") -> GHN:
    """Our GHN holding the weights of a checkpoint saved by the reference GHN-2 code."""
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "config" not in ckpt:
        raise ValueError(
            f"{path} is not a reference GHN checkpoint (no 'config' and 'state_dict'); for checkpoints "
            f"that bench trained, use GHN.load"
        )
    ghn = GHN(**ghn_config(ckpt["config"]))
    ours = ghn.state_dict()
    for name, value in ckpt["state_dict"].items():
        key = reference_name(name)
        if key == "type_embed.weight":  # 15 GHN-2 types, then our `extendable` row
            ours[key][: len(value)] = value
        elif ours[key].shape != value.shape:
            raise ValueError(f"{path}: {name} has shape {tuple(value.shape)}, our {key} {tuple(ours[key].shape)}")
        else:
            ours[key] = value
    ghn.load_state_dict(ours)
    return ghn
