"""Image data sets: digits (embedded, scikit-learn), CIFAR-10/100 and ImageNet from --data-dir."""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from bench.config.paths import home
from bench.config.schema import DATASETS
from bench.harness.nets import fit_input

Batch = tuple[torch.Tensor, torch.Tensor]

CIFAR_MEAN = (0.49139968, 0.48215827, 0.44653124)  # GHN-2's values (reference section 7)
CIFAR_STD = (0.24703233, 0.24348505, 0.26158768)
CIFAR_TRAIN = 45_000  # training images; the rest of CIFAR's 50,000 score the `val` split
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class DataNotFound(FileNotFoundError):
    """A data set that is not on disk; the message says where to get it and where to put it."""


@dataclass
class ImageData:
    """Train and eval images of one data set, as normalised float batches."""

    name: str
    num_classes: int
    in_channels: int
    image_size: int

    def train_batches(self, batch_size: int, seed: int, start_step: int = 0) -> Iterator[Batch]:
        """Endless shuffled (and augmented) training batches from step `start_step` on; the same
        for the same seed, so a resumed run sees the batches an uninterrupted one would."""
        raise NotImplementedError

    def normalisation(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(mean, std) per channel that map [0, 1] pixels to the model's inputs."""
        raise NotImplementedError

    def eval_batches(self, max_images: int, batch_size: int, split: str = "test") -> list[Batch]:
        """The first `max_images` evaluation images of `split` in a fixed order, in batches: the
        held-out training images for `val` where the data set has them (CIFAR, as GHN-2 scores
        val), the evaluation images otherwise."""
        raise NotImplementedError

    def batches_for(
        self, model: torch.nn.Module, size: int | None = None, count: int = 10, batch_size: int = 64, seed: int = 0
    ) -> list[Batch]:
        """`count` normalised training batches shaped for `model` as `bench predict` feeds it:
        resized to `size` px (default: the data set's own side), grey images repeated across 3
        channels when the model's first convolution takes 3 (e.g. for gnn_zoo.calibrate_bn)."""
        channels = model_channels(model, self.in_channels)
        batches = itertools.islice(self.train_batches(batch_size, seed), count)
        return [(with_channels(fit_input(x, size or self.image_size), channels), y) for x, y in batches]


def model_channels(model: torch.nn.Module, channels: int) -> int:
    """The channels `model` takes images with: its first convolution's, or the data's own when it
    has none; ValueError when the data's `channels` cannot be made to fit (only 1 -> 3 can)."""
    first = next((m for m in model.modules() if isinstance(m, torch.nn.modules.conv._ConvNd)), None)
    wants = first.in_channels if first is not None else channels
    if wants != channels and not (channels == 1 and wants == 3):
        raise ChannelMismatch(wants, f"the model's first layer takes {wants} channels, but the images have {channels}")
    return wants


class ChannelMismatch(ValueError):
    """A model whose first layer takes channels the images cannot be given (model_channels)."""

    def __init__(self, wants: int, message: str) -> None:
        super().__init__(message)
        self.wants = wants


def with_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Images with `channels` channels: grey ones repeated when the model wants more."""
    return x if x.shape[1] == channels else x.expand(-1, channels, -1, -1)


@dataclass
class TensorData(ImageData):
    """A data set held in memory: uint8 or float images [N, C, H, W] and labels."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    eval_x: torch.Tensor
    eval_y: torch.Tensor
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    scale: float = 255.0  # raw value of full intensity
    augment: bool = False  # random 4-px-padded crops and horizontal flips (CIFAR)
    val_x: torch.Tensor | None = None  # held-out training images that score the `val` split
    val_y: torch.Tensor | None = None

    def normalisation(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.mean, self.std

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (x.float() / self.scale - mean) / std

    def train_batches(self, batch_size: int, seed: int, start_step: int = 0) -> Iterator[Batch]:
        per_epoch = len(self.train_y) // batch_size
        step = start_step
        while True:
            epoch, k = divmod(step, per_epoch)
            order = torch.randperm(len(self.train_y), generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
            idx = order[k * batch_size : (k + 1) * batch_size]
            x = self.train_x[idx]
            if self.augment:  # padded with black pixels before normalising, as torchvision's RandomCrop
                x = self.augmented(x, torch.Generator().manual_seed(seed * 1_000_003 + step))
            yield self.normalise(x), self.train_y[idx]
            step += 1

    def augmented(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Random crops of the raw images padded with 4 px of zeros (black) and random horizontal
        flips."""
        b, c, h, w = x.shape
        padded = F.pad(x, (4, 4, 4, 4))
        dy, dx = torch.randint(0, 9, (2, b), generator=g)
        rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
        out = padded[torch.arange(b)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
        flip = torch.rand(b, generator=g) < 0.5
        out[flip] = out[flip].flip(-1)
        return out

    def eval_batches(self, max_images: int, batch_size: int, split: str = "test") -> list[Batch]:
        x, y = self.eval_x, self.eval_y
        if split == "val" and self.val_x is not None and self.val_y is not None:
            x, y = self.val_x, self.val_y
        n = min(max_images, len(y))
        return [
            (self.normalise(x[i : min(i + batch_size, n)]), y[i : min(i + batch_size, n)])
            for i in range(0, n, batch_size)
        ]


def with_pixel_noise(batches: list[Batch], data: ImageData, std: float, seed: int) -> list[Batch]:
    """GHN-2's noise-robustness evaluation: Gaussian noise of `std` added to the images in [0, 1]
    pixel space, clipped to [0, 1], normalised again; seeded, so every method sees the same noise."""
    mean, sd = (torch.tensor(v).view(1, -1, 1, 1) for v in data.normalisation())
    g = torch.Generator().manual_seed(seed)
    out = []
    for x, y in batches:
        pixels = x * sd + mean
        noisy = (pixels + std * torch.randn(pixels.shape, generator=g)).clamp(0, 1)
        out.append(((noisy - mean) / sd, y))
    return out


def digits() -> TensorData:
    """scikit-learn's 8x8 handwritten digits (1,797 images, shipped with the package): a fixed
    80/20 split, 1,437 train and 360 eval images."""
    from sklearn.datasets import load_digits  # scikit-learn loads in seconds: only for digits

    raw = load_digits()
    x = torch.tensor(raw.images, dtype=torch.float32)[:, None]
    y = torch.tensor(raw.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, held_out = order[:1437], order[1437:]
    mean, std = (x[train] / 16).mean().item(), (x[train] / 16).std().item()
    return TensorData("digits", 10, 1, 8, x[train], y[train], x[held_out], y[held_out], (mean,), (std,), 16.0)


def cifar(data_dir: str | os.PathLike | None, classes: int, download: bool = False) -> TensorData:
    """CIFAR-10/100 in torchvision's on-disk format under `data_dir`; with `download`, fetched
    first by torchvision's downloader (into $GHNBENCH_HOME/data without a data_dir)."""
    from torchvision.datasets import CIFAR10, CIFAR100  # torchvision's data modules: only for the sets that need them

    cls, folder = (CIFAR10, "cifar-10-batches-py") if classes == 10 else (CIFAR100, "cifar-100-python")
    name = f"cifar{classes}"
    if download:
        data_dir = Path(data_dir or home() / "data")
        try:
            cls(str(data_dir), train=True, download=True)
        except (OSError, RuntimeError) as err:  # no network, a proxy, a corrupt archive
            raise DataNotFound(f"{name}: --download into {data_dir} failed ({err})\n{cifar_hint(classes)}") from err
    if data_dir is None:
        raise DataNotFound(
            f"{name} needs --data-dir DIR holding {folder}/, or --download (see below)\n{cifar_hint(classes)}"
        )
    try:
        train, test = cls(str(data_dir), train=True), cls(str(data_dir), train=False)
    except RuntimeError as err:  # torchvision's own hint (download=True) is no flag of bench's
        reason = str(err).split(" You can use download=True")[0]
        raise DataNotFound(f"{name} not found or corrupt in {data_dir} ({reason})\n{cifar_hint(classes)}") from err

    def as_tensors(ds) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(ds.targets, dtype=torch.long)

    (tx, ty), (ex, ey) = as_tensors(train), as_tensors(test)
    # GHN-2 trains on the first 45,000 training images and scores `val` on the last 5,000
    val = (tx[CIFAR_TRAIN:], ty[CIFAR_TRAIN:]) if len(ty) > CIFAR_TRAIN else (None, None)
    return TensorData(
        name,
        classes,
        3,
        32,
        tx[:CIFAR_TRAIN],
        ty[:CIFAR_TRAIN],
        ex,
        ey,
        CIFAR_MEAN,
        CIFAR_STD,
        255.0,
        augment=True,
        val_x=val[0],
        val_y=val[1],
    )


def cifar_hint(classes: int) -> str:
    """How to get CIFAR-10/100 onto this machine."""
    archive = "cifar-10-python.tar.gz" if classes == 10 else "cifar-100-python.tar.gz"
    return (
        f"On a machine with internet, pass --download (torchvision fetches it), or download {archive} from "
        f"https://www.cs.toronto.edu/~kriz/cifar.html, `tar xzf {archive} -C DIR` and pass --data-dir DIR."
    )


FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist puts it here
FASHION_MNIST_TRAIN = 55_000  # training images; the last 5,000 of the 60,000 score the `val` split
FASHION_MNIST_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "eval_x": "t10k-images-idx3-ubyte",
    "eval_y": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> torch.Tensor:
    """An idx file (MNIST's format: magic with the dtype and rank, big-endian sizes, raw bytes),
    gzipped or not, as a uint8 tensor of its shape."""

    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise DataNotFound(f"{path} is not an idx file of unsigned bytes (MNIST's format)")
    rank = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", rank, 4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * rank)
    if data.size != int(np.prod(shape)):
        raise DataNotFound(f"{path} is truncated: {data.size} bytes for shape {shape}")
    return torch.from_numpy(data.reshape(shape).copy())


def fashion_mnist(data_dir: str | os.PathLike | None = None) -> TensorData:
    """Fashion-MNIST (28x28 grey, 10 classes) from Debian's dataset-fashion-mnist package or
    `data_dir` (the four idx files, gzipped or not): training on the first 55,000 training
    images, `val` scored on the last 5,000, the other splits on the 10,000 test images."""
    root = Path(data_dir) if data_dir is not None else FASHION_MNIST_DIR
    paths: dict[str, Path] = {}
    for key, name in FASHION_MNIST_FILES.items():
        found = [root / f"{name}.gz", root / name]
        present = [p for p in found if p.is_file()]
        if not present:
            raise DataNotFound(
                f"fashion-mnist: {found[0]} is missing. Install it with `apt-get install "
                f"dataset-fashion-mnist` (Debian, offline-friendly: {FASHION_MNIST_DIR}), or pass "
                f"--data-dir DIR holding the four idx files"
            )
        paths[key] = present[0]
    tx, ty, ex, ey = (read_idx(paths[k]) for k in ("train_x", "train_y", "eval_x", "eval_y"))
    tx, ex, ty, ey = tx[:, None], ex[:, None], ty.long(), ey.long()
    train = tx[:FASHION_MNIST_TRAIN]
    mean = (train.float() / 255).mean().item()
    std = (train.float() / 255).std().item()
    return TensorData(
        "fashion-mnist",
        10,
        1,
        int(tx.shape[-1]),
        train,
        ty[:FASHION_MNIST_TRAIN],
        ex,
        ey,
        (mean,),
        (std,),
        255.0,
        val_x=tx[FASHION_MNIST_TRAIN:],
        val_y=ty[FASHION_MNIST_TRAIN:],
    )


IMAGENET_HELD_OUT = 50  # the last training images of each class that score the `val` split (GHN-2)
IMAGENET_EVAL_SEED = 1111  # GHN-2 scores the other splits on the official val images shuffled with this seed


@dataclass
class FolderData(ImageData):
    """ImageNet-style folders read with torchvision's ImageFolder: DIR/train/<class>/*, DIR/val/<class>/*.

    As GHN-2 (reference section 7): training on DIR/train minus the last `held_out` images of
    each class (in ImageFolder's sorted order), which score the `val` split; the other splits
    are scored on DIR/val, the official validation images, in the order of a shuffle seeded
    with 1111 (with BatchNorm in batch-statistics mode, a score depends on the batches)."""

    root: Path
    workers: int = 4
    held_out: int = IMAGENET_HELD_OUT

    def normalisation(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return IMAGENET_MEAN, IMAGENET_STD

    def transform(self, train: bool):
        """GHN-2's ImageNet transforms: RandomResizedCrop, flip and ColorJitter(0.4, 0.4, 0.4, 0.2)
        to train; Resize(256) and CenterCrop(224) (scaled to image_size) to evaluate."""
        from torchvision import transforms  # only ImageNet-style folders need them

        if train:
            tf = [
                transforms.RandomResizedCrop(self.image_size),
                transforms.RandomHorizontalFlip(),
                transforms.ColorJitter(0.4, 0.4, 0.4, 0.2),
            ]
        else:
            tf = [transforms.Resize(int(self.image_size * 8 / 7)), transforms.CenterCrop(self.image_size)]
        return transforms.Compose(tf + [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)])

    def split_indices(self, targets: list[int]) -> tuple[list[int], list[int]]:
        """(training, held-out) indices of DIR/train: the last `held_out` images of each class are
        held out, at least one image of each class stays for training."""
        by_class: dict[int, list[int]] = {}
        for i, t in enumerate(targets):
            by_class.setdefault(t, []).append(i)
        train, held = [], []
        for idx in by_class.values():
            cut = len(idx) - min(self.held_out, len(idx) - 1)
            train += idx[:cut]
            held += idx[cut:]
        return sorted(train), sorted(held)

    def dataset(self, split: str):
        """The images of `split`: train (minus the held-out ones), val (the held-out ones) or
        eval (DIR/val), with their transforms."""
        from torchvision import datasets  # only ImageNet-style folders need them

        if split == "eval":  # in the order of torch.randperm seeded with 1111
            ds = datasets.ImageFolder(str(self.root / "val"), self.transform(train=False))
            order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(IMAGENET_EVAL_SEED))
            return torch.utils.data.Subset(ds, order.tolist())
        ds = datasets.ImageFolder(str(self.root / "train"), self.transform(train=split == "train"))
        train, held = self.split_indices(ds.targets)
        return torch.utils.data.Subset(ds, train if split == "train" else held)

    def loader(self, split: str, batch_size: int, shuffle: bool, seed: int = 0, drop_last: bool = False):
        """A DataLoader over `split` (see dataset), shuffled by a generator seeded with `seed`."""
        g = torch.Generator().manual_seed(seed)
        return torch.utils.data.DataLoader(
            self.dataset(split), batch_size, shuffle=shuffle, generator=g, num_workers=self.workers, drop_last=drop_last
        )

    def train_batches(self, batch_size: int, seed: int, start_step: int = 0) -> Iterator[Batch]:
        """As ImageData's; a resumed run re-reads the partial epoch's skipped batches (slow but
        the same order; the random crops differ)."""
        skip, epoch = start_step, 0
        while True:
            torch.manual_seed(seed * 100_003 + epoch)  # the random crops, flips and colour jitter
            for batch in self.loader("train", batch_size, shuffle=True, seed=seed * 100_003 + epoch, drop_last=True):
                if skip:
                    skip -= 1
                    continue
                yield batch
            epoch += 1

    def eval_batches(self, max_images: int, batch_size: int, split: str = "test") -> list[Batch]:
        """`val`: the held-out training images in order; other splits: the official val images
        shuffled with GHN-2's seed 1111 (torch.randperm's order; the reference's own shuffle
        order is not known, so the images per batch differ from its)."""
        out, seen = [], 0
        for x, y in self.loader("val" if split == "val" else "eval", batch_size, shuffle=False):
            out.append((x[: max_images - seen], y[: max_images - seen]))
            seen += len(out[-1][1])
            if seen >= max_images:
                break
        return out


def imagenet(data_dir: str | os.PathLike | None) -> FolderData:
    """ILSVRC-2012 prepared for ImageFolder under `data_dir`."""
    hint = (
        "ImageNet needs --data-dir DIR with DIR/train/<wnid>/*.JPEG and DIR/val/<wnid>/*.JPEG (ILSVRC-2012 "
        "from https://image-net.org, validation images sorted into class folders)."
    )
    if data_dir is None:
        raise DataNotFound(hint)
    root = Path(data_dir)
    for split in ("train", "val"):
        if not (root / split).is_dir() or not any((root / split).iterdir()):
            raise DataNotFound(f"{root / split} is missing or empty. {hint}")
    classes = len([d for d in (root / "train").iterdir() if d.is_dir()])
    return FolderData("imagenet", classes, 3, 224, root)


def load_data(
    name: str, data_dir: str | os.PathLike | None = None, download: bool = False, resize: int | None = None
) -> ImageData:
    """The data set `name` (digits is embedded: a data_dir for it is refused, not ignored), its
    images resized to `resize` pixels a side when given; `download` fetches CIFAR-10/100 first
    (the other data sets refuse it, saying how to get them)."""
    data = loaded_data(name, data_dir, download)
    return resized(data, resize) if resize and resize != data.image_size else data


def resized(data: ImageData, size: int) -> ImageData:
    """`data` with its images at `size` x `size`: in-memory images resampled once (bilinear,
    antialiased; the normalisation re-measured on the resized training images), folder data
    cropped to `size` by its own transforms."""
    if not isinstance(data, TensorData):
        return dataclasses.replace(data, image_size=size)

    def resample(x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                F.interpolate(x[i : i + 4096].float(), size=(size, size), mode="bilinear", antialias=True)
                for i in range(0, len(x), 4096)
            ]
        )

    train = resample(data.train_x)
    pixels = train.transpose(0, 1).reshape(train.shape[1], -1) / data.scale
    return dataclasses.replace(
        data,
        image_size=size,
        train_x=train,
        eval_x=resample(data.eval_x),
        val_x=None if data.val_x is None else resample(data.val_x),
        mean=tuple(pixels.mean(1).tolist()),
        std=tuple(pixels.std(1).tolist()),
    )


def loaded_data(name: str, data_dir: str | os.PathLike | None, download: bool) -> ImageData:
    """The data set `name` at its own size (load_data's checks and dispatch)."""
    if download and name not in ("cifar10", "cifar100"):
        raise ValueError(
            f"--download fetches cifar10/cifar100 only; {name} is "
            + (
                "embedded"
                if name == "digits"
                else "installed with `apt-get install dataset-fashion-mnist`"
                if name == "fashion-mnist"
                else "read from --data-dir (see its error for the layout)"
            )
        )
    if name == "digits":
        if data_dir is not None:
            raise ValueError(
                f"--data-dir {data_dir}: digits is embedded (scikit-learn) and reads no folder; drop "
                f"--data-dir, or pass --dataset cifar10|cifar100|imagenet for the data in it"
            )
        return digits()
    if name == "fashion-mnist":
        return fashion_mnist(data_dir)
    if name in ("cifar10", "cifar100"):
        return cifar(data_dir, 10 if name == "cifar10" else 100, download)
    if name == "imagenet":
        return imagenet(data_dir)
    raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
