"""`bench predict`: its options and the command; the pipeline lives in bench.harness.predict."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.commands.options import NON_NEGATIVE_INT, POSITIVE_INT

CALIBRATION_BATCHES = 20  # default of --calibrate-bn when --save is given


def configure(p: argparse.ArgumentParser) -> None:
    """`bench predict`'s options: the run options and its own."""
    from bench.commands.options import add_run_options

    add_run_options(p, split=False, evaluates=("eval_images",))  # it scores one model on the eval images
    p.add_argument(
        "--model", required=True, help="torchvision name (resnet50, vit_b_16, ...), file.py:Class or pkg.mod:Class"
    )
    p.add_argument(
        "--ckpt",
        default=None,
        help="GHN checkpoint (default: train/reuse the --gnn/--preset one); "
        "its core is used (--gnn may be left out, and must match it when given)",
    )
    p.add_argument(
        "--reference-ckpt",
        default=None,
        metavar="PATH",
        help="predict with a reference code's checkpoint: a GHN-3 hub file (ghn3tm8.pt, ...) or GHN-2's "
        "(ghn2_cifar10.pt)",
    )
    p.add_argument(
        "--image-size",
        type=POSITIVE_INT,
        default=None,
        help="resize images to this side (default: the data set's; at least 32 for torchvision models)",
    )
    p.add_argument(
        "--leaf",
        default=None,
        metavar="CLASS[,CLASS...]",
        help="module classes of the model to trace as single nodes (for data-dependent control flow)",
    )
    p.add_argument(
        "--save",
        default=None,
        help="save the model's state_dict here: predicted weights, BatchNorm running statistics "
        "calibrated on training images (see --calibrate-bn), ready for model.eval()",
    )
    p.add_argument(
        "--calibrate-bn",
        type=NON_NEGATIVE_INT,
        default=None,
        metavar="N",
        help=f"recompute BatchNorm running statistics on N batches of 64 training images after "
        f"prediction (default {CALIBRATION_BATCHES} with --save, else 0; 0: keep the defaults)",
    )
    p.set_defaults(func=run_predict)


def ckpt_core(args: argparse.Namespace) -> None:
    """With --ckpt, take the checkpoint's core as --gnn, refusing a --gnn that names another."""
    from gnn_zoo import GHN

    path = Path(args.ckpt)
    if not path.exists():
        raise ValueError(f"--ckpt {path}: no such file")
    config = GHN.read_checkpoint(path)["config"]
    if args.gnn not in (None, config["core"]):
        raise ValueError(
            f"--gnn {args.gnn}, but --ckpt {path} holds a {config['core']} GHN; drop --gnn or pass "
            f"--gnn {config['core']}"
        )
    args.gnn = config["core"]


def run_predict(args: argparse.Namespace) -> int:
    """Run `bench predict`: load, trace and check the model first, then train or load the GHN,
    predict, report accuracy, and with --save write calibrated parameters."""
    import torch

    from bench.commands.run_cmd import setup
    from bench.config.paths import checkpoint_root
    from bench.harness.data import with_channels
    from bench.harness.evaluate import accuracy
    from bench.harness.predict import calibrate_bn, check_runs, input_channels, leaf_classes, load_model
    from bench.harness.train import train
    from deepnets1m import to_graph
    from deepnets1m.predefined import min_image_size
    from gnn_zoo import GHN

    if args.ckpt and args.reference_ckpt:
        raise ValueError("--ckpt and --reference-ckpt both name a GHN: pass one")
    if args.ckpt:
        ckpt_core(args)
    reference = None
    if args.reference_ckpt:
        from gnn_zoo import load_reference

        reference = load_reference(args.reference_ckpt)
        args.gnn = args.gnn or reference.config["core"]  # the reference's core; nothing is trained
    loaded = args.ckpt or args.reference_ckpt
    data, preset, spec = setup(args, writes=() if loaded else ("checkpoints",))
    device = torch.device(args.device)
    size = args.image_size or (
        data.image_size if ":" in args.model else max(data.image_size, min_image_size(args.model))
    )
    torch.manual_seed(args.seed)

    def build(side: int):
        return load_model(args.model, data.num_classes, data.in_channels, side)

    channels = input_channels(build(size), args.model, args.dataset, data.in_channels, size)
    if channels != data.in_channels:
        print(
            f"{args.model}'s first layer takes {channels} channels: the grey {args.dataset} images are repeated "
            f"across them"
        )
    model = check_runs(build, args.model, size, channels, data.num_classes, device)
    leaves = leaf_classes(model, args.leaf.split(",")) if args.leaf else ()
    graph = to_graph(model, leaves)  # a clear error here names unsupported modules and --leaf
    images = [(with_channels(x, channels), y) for x, y in data.eval_batches(preset.eval_images, preset.eval_batch)]
    random_acc, random_top5 = accuracy(model, images, size, device)

    if reference is not None:
        ckpt, ghn = Path(args.reference_ckpt), reference.to(device)
    else:
        ckpt = (
            Path(args.ckpt)
            if args.ckpt
            else train(
                spec, data, Path(args.checkpoints or checkpoint_root()), args.device, progress=not args.no_progress
            ).checkpoint
        )
        ghn = GHN.load(ckpt, backend=args.backend).to(device).eval()
    t0 = time.perf_counter()
    ghn(model, graph=graph)
    latency = time.perf_counter() - t0
    ghn_acc, ghn_top5 = accuracy(model, images, size, device)
    n_images = sum(len(y) for _, y in images)
    print(
        f"{args.model}: {graph.num_params / 1e6:.2f}M parameters in {graph.num_nodes} nodes, predicted in "
        f"{1000 * latency:.0f} ms by {ckpt.name}"
    )
    print(
        f"  top-1 / top-5 on {n_images} {args.dataset} eval images (BatchNorm on batch statistics): "
        f"predicted {ghn_acc:.2f}% / {ghn_top5:.2f}%, random init {random_acc:.2f}% / {random_top5:.2f}%"
    )
    batches = args.calibrate_bn if args.calibrate_bn is not None else CALIBRATION_BATCHES if args.save else 0
    used = calibrate_bn(model, data, batches, size, device, args.seed, channels)
    if used:
        print(
            f"  BatchNorm running statistics calibrated on {used} batches of 64 {args.dataset} training images: "
            f"top-1 under model.eval() {accuracy(model, images, size, device, batch_stats=False)[0]:.2f}%"
        )
    if args.save:
        from deepnets1m.atomic import atomic_write

        with atomic_write(args.save) as f:
            torch.save(model.state_dict(), f)
        what = (
            f"BatchNorm running statistics from {used} training batches"
            if used
            else "BatchNorm running statistics left at their defaults (--calibrate-bn 0)"
        )
        print(f"  parameters saved to {args.save} (state_dict: predicted weights, {what})")
    return 0
