import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from bench.harness.data import DataNotFound, load_data


def test_digits_is_embedded_and_deterministic():
    data = load_data("digits")
    assert (data.num_classes, data.in_channels, data.image_size) == (10, 1, 8)
    a, b = data.train_batches(32, seed=3), data.train_batches(32, seed=3)
    for _ in range(50):  # crosses an epoch boundary (1437 // 32 = 44 batches)
        (xa, ya), (xb, yb) = next(a), next(b)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    x, y = next(data.train_batches(32, seed=4))
    assert not torch.equal(y, ya)
    evals = data.eval_batches(1000, 100)
    assert sum(len(y) for _, y in evals) == 360 and abs(float(x.mean())) < 0.5


def test_resumed_batches_continue_the_stream():
    data = load_data("digits")
    stream = data.train_batches(64, seed=1)
    batches = [next(stream) for _ in range(30)]
    resumed = next(data.train_batches(64, seed=1, start_step=25))
    assert torch.equal(resumed[0], batches[25][0])


def write_cifar(root, classes, n_train=40, n_test=20):
    """Tiny CIFAR files in torchvision's real on-disk format (pickled dicts of uint8 rows)."""
    rng = np.random.default_rng(0)
    label_key = "labels" if classes == 10 else "fine_labels"

    def batch(n):
        return {
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            label_key: rng.integers(0, classes, n).tolist(),
        }

    if classes == 10:
        folder, files = root / "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)]
        test_name, meta = "test_batch", ("batches.meta", {"label_names": [f"c{i}" for i in range(10)]})
    else:
        folder, files = root / "cifar-100-python", ["train"]
        test_name, meta = "test", ("meta", {"fine_label_names": [f"c{i}" for i in range(100)]})
    folder.mkdir(parents=True)
    for name in files:
        (folder / name).write_bytes(pickle.dumps(batch(n_train // len(files))))
    (folder / test_name).write_bytes(pickle.dumps(batch(n_test)))
    (folder / meta[0]).write_bytes(pickle.dumps(meta[1]))


@pytest.fixture
def no_md5(monkeypatch):
    """torchvision checks the real archives' md5 sums, which tiny test files cannot match."""
    from torchvision.datasets import CIFAR10, CIFAR100

    for cls in (CIFAR10, CIFAR100):
        monkeypatch.setattr(cls, "train_list", [[f, None] for f, _ in cls.train_list])
        monkeypatch.setattr(cls, "test_list", [[f, None] for f, _ in cls.test_list])
        monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": None})


@pytest.mark.parametrize("classes", [10, 100])
def test_cifar_from_data_dir(tmp_path, no_md5, classes):
    write_cifar(tmp_path, classes)
    data = load_data(f"cifar{classes}", tmp_path)
    assert (data.num_classes, data.in_channels, data.image_size) == (classes, 3, 32)
    x, y = next(data.train_batches(8, seed=0))
    assert x.shape == (8, 3, 32, 32) and y.max() < classes
    assert sum(len(y) for _, y in data.eval_batches(100, 7)) == 20


def test_missing_data_says_how_to_get_it(tmp_path):
    with pytest.raises(DataNotFound, match="cifar-10-python.tar.gz.*--data-dir") as err:
        load_data("cifar10", tmp_path)
    assert "download=True" not in str(err.value)  # torchvision's hint names no flag of bench's
    with pytest.raises(ValueError, match="digits is embedded.*drop --data-dir"):
        load_data("digits", tmp_path)
    with pytest.raises(DataNotFound, match="needs --data-dir"):
        load_data("cifar100")
    with pytest.raises(DataNotFound, match="train is missing or empty.*ImageFolder|train is missing"):
        load_data("imagenet", tmp_path)
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        load_data("mnist")


def test_imagenet_folders(tmp_path):
    """GHN-2's ImageNet protocol on tiny folders: the last images of each training class are held
    out to score `val` (1 here, 50 on ImageNet), the other splits see the official val images in
    a shuffle seeded with 1111."""
    for split, count in (("train", 4), ("val", 3)):
        for c in range(2):
            folder = tmp_path / split / f"n0000{c}"
            folder.mkdir(parents=True)
            for i in range(count):
                Image.fromarray(np.full((40, 50, 3), 40 * i + 100 * c, dtype=np.uint8)).save(folder / f"{i}.png")
    data = load_data("imagenet", tmp_path)
    data.workers, data.held_out = 0, 1
    assert data.num_classes == 2
    assert data.split_indices([0, 0, 0, 0, 1, 1, 1, 1]) == ([0, 1, 2, 4, 5, 6], [3, 7])
    assert data.split_indices([0]) == ([0], [])  # a class keeps at least one training image
    x, y = next(data.train_batches(4, seed=0))
    assert x.shape == (4, 3, 224, 224)
    assert [len(y) for _, y in data.eval_batches(5, 4)] == [4, 1]
    val = data.eval_batches(10, 10, split="val")
    assert val[0][1].tolist() == [0, 1]  # the held-out image of each class
    first, again = data.eval_batches(6, 6)[0][1], data.eval_batches(6, 6)[0][1]
    assert first.tolist() == again.tolist() and sorted(first.tolist()) == [0, 0, 0, 1, 1, 1]
    g = torch.Generator().manual_seed(1111)
    expected = [i // 3 for i in torch.randperm(6, generator=g).tolist()]  # ImageFolder order: class 0, then 1
    assert first.tolist() == expected


def test_cifar_val_is_scored_on_held_out_training_images(tmp_path, no_md5, monkeypatch):
    """GHN-2's split: the first 45,000 training images train, the last 5,000 score `val` (here
    36 and 4 of 40); every other split is scored on the test images."""
    import bench.harness.data as bd

    monkeypatch.setattr(bd, "CIFAR_TRAIN", 36)
    write_cifar(tmp_path, 10)
    data = load_data("cifar10", tmp_path)
    assert len(data.train_y) == 36 and len(data.val_y) == 4
    assert sum(len(y) for _, y in data.eval_batches(100, 3, "val")) == 4
    assert sum(len(y) for _, y in data.eval_batches(100, 3, "ood-deep")) == 20


def test_pixel_noise_is_clipped_seeded_and_shared():
    """GHN-2's robustness test: noise in [0, 1] pixel space, clipped; the same seed gives every
    method the same noisy images."""
    from bench.harness.data import with_pixel_noise

    data = load_data("digits")
    clean = data.eval_batches(50, 25)
    a, b = with_pixel_noise(clean, data, 0.08, seed=3), with_pixel_noise(clean, data, 0.08, seed=3)
    assert all(torch.equal(x, y) for (x, _), (y, _) in zip(a, b))
    (mean,), (std,) = data.normalisation()
    pixels = torch.cat([x for x, _ in a]) * std + mean
    assert pixels.min() >= -1e-6 and pixels.max() <= 1 + 1e-6
    change = (torch.cat([x for x, _ in a]) - torch.cat([x for x, _ in clean])) * std
    assert 0.02 < change.abs().mean() < 0.08  # about 0.8 std, less where clipped
    assert all(torch.allclose(x, y, atol=1e-5) for (x, _), (y, _) in zip(with_pixel_noise(clean, data, 0.0, 0), clean))


def test_cifar_crops_pad_black_pixels_before_normalising():
    """As torchvision's RandomCrop(32, padding=4) on raw images: the border is black, which
    normalises to -mean/std per channel (not to 0, a mean-grey border)."""
    from bench.harness.data import CIFAR_MEAN, CIFAR_STD, TensorData

    white = torch.full((64, 3, 32, 32), 255, dtype=torch.uint8)
    data = TensorData(
        "cifar10",
        10,
        3,
        32,
        white,
        torch.zeros(64, dtype=torch.long),
        white,
        torch.zeros(64),
        CIFAR_MEAN,
        CIFAR_STD,
        255.0,
        augment=True,
    )
    x, _ = next(data.train_batches(64, seed=0))
    black = torch.tensor([-m / s for m, s in zip(CIFAR_MEAN, CIFAR_STD)]).view(1, 3, 1, 1)
    is_black = torch.isclose(x, black.expand_as(x), atol=1e-5)
    is_white = torch.isclose(
        x, ((1 - torch.tensor(CIFAR_MEAN)) / torch.tensor(CIFAR_STD)).view(1, 3, 1, 1).expand_as(x)
    )
    assert (is_black | is_white).all() and is_black.any()


def write_idx(path, array: np.ndarray) -> None:
    """An idx file as MNIST's are written: zero, zero, dtype 0x08 (ubyte), rank, big-endian sizes, bytes."""
    import gzip
    import struct

    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_from_idx_files(tmp_path, monkeypatch):
    """The four idx files in the real format (tiny): the first 55,000 training images train (20
    here), the rest score val, the test images the other splits; a missing file names the
    Debian package."""
    monkeypatch.setattr("bench.harness.data.FASHION_MNIST_TRAIN", 20)
    FASHION_MNIST_TRAIN = 20
    rng = np.random.default_rng(0)
    n_train, n_test = FASHION_MNIST_TRAIN + 7, 5
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28)))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, n_train))
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (n_test, 28, 28)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(n_test) % 10)
    data = load_data("fashion-mnist", tmp_path)
    assert (data.num_classes, data.in_channels, data.image_size) == (10, 1, 28)
    assert len(data.train_y) == FASHION_MNIST_TRAIN and len(data.val_y) == 7 and len(data.eval_y) == n_test
    ((x, y),) = data.eval_batches(100, 100, "val")
    assert x.shape == (7, 1, 28, 28) and abs(float(data.normalise(data.train_x).mean())) < 1e-5
    assert data.eval_batches(100, 100, "test")[0][1].tolist() == [0, 1, 2, 3, 4]
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataNotFound, match="apt-get install dataset-fashion-mnist"):
        load_data("fashion-mnist", tmp_path)
    (tmp_path / "bad-idx").write_bytes(b"\x01\x02\x03\x04")
    from bench.harness.data import read_idx

    with pytest.raises(DataNotFound, match="not an idx file"):
        read_idx(tmp_path / "bad-idx")


def test_cifar_download_through_torchvision_from_a_loopback_server(tmp_path, no_md5, monkeypatch):
    """--download: torchvision's downloader fetches the archive (here from a server on 127.0.0.1
    serving tiny files in the real format, so no outside traffic) into $GHNBENCH_HOME/data."""
    import functools
    import http.server
    import tarfile
    import threading

    from torchvision.datasets import CIFAR10

    write_cifar(tmp_path / "src", 10)
    serve = tmp_path / "serve"
    serve.mkdir()
    with tarfile.open(serve / "cifar-10-python.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(serve)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(CIFAR10, "url", f"http://127.0.0.1:{server.server_port}/cifar-10-python.tar.gz")
        monkeypatch.setattr(CIFAR10, "tgz_md5", None)
        monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path / "home"))
        data = load_data("cifar10", download=True)
        assert (tmp_path / "home" / "data" / "cifar-10-batches-py" / "test_batch").is_file() and len(data.eval_y) == 20
    finally:
        server.shutdown()
    with pytest.raises(ValueError, match="--download fetches cifar10/cifar100 only"):
        load_data("digits", download=True)
    monkeypatch.setattr(CIFAR10, "url", "http://127.0.0.1:9/cifar-10-python.tar.gz")  # nothing listens there
    with pytest.raises(DataNotFound, match="--download into .* failed"):
        load_data("cifar10", tmp_path / "elsewhere", download=True)


def test_resize_resamples_every_split_once_and_renormalises(tmp_path, monkeypatch):
    """--resize N: train, val and eval images at N x N, labels untouched, the normalisation
    re-measured (normalised training pixels have mean 0, std 1); a flat image stays flat; its
    own size is a no-op."""
    monkeypatch.setattr("bench.harness.data.FASHION_MNIST_TRAIN", 20)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (27, 28, 28))
    images[0] = 200
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, 27))
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (5, 28, 28)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(5) % 10)
    own = load_data("fashion-mnist", tmp_path)
    small = load_data("fashion-mnist", tmp_path, resize=16)
    assert small.image_size == 16 and small.train_x.shape == (20, 1, 16, 16)
    assert small.val_x.shape == (7, 1, 16, 16) and small.eval_x.shape == (5, 1, 16, 16)
    assert torch.equal(small.train_y, own.train_y) and torch.equal(small.eval_y, own.eval_y)
    assert torch.allclose(small.train_x[0], torch.full((1, 16, 16), 200.0))  # antialiased bilinear keeps a flat image
    normalised = small.normalise(small.train_x)
    assert abs(float(normalised.mean())) < 1e-5 and float(normalised.std()) == pytest.approx(1.0, abs=1e-4)
    assert small.mean != own.mean or small.std != own.std
    assert load_data("fashion-mnist", tmp_path, resize=28).train_x.dtype == own.train_x.dtype  # own size: untouched
    ((x, _),) = small.eval_batches(100, 100, "test")
    assert x.shape == (5, 1, 16, 16)


def test_resize_keys_its_runs_and_baselines_but_leaves_unresized_ones_as_they_were(tmp_path):
    from bench.config.presets import get_preset
    from bench.harness.baselines import baseline_key
    from bench.harness.train import TrainSpec

    plain, small = get_preset("tiny"), get_preset("tiny", resize=16)
    assert small.label != plain.label and "resize" not in plain.training_fields()
    assert TrainSpec("gcn", "pyg", "fashion-mnist", plain, 0).checkpoint(tmp_path) != TrainSpec(
        "gcn", "pyg", "fashion-mnist", small, 0
    ).checkpoint(tmp_path)
    assert "resize" not in baseline_key("digits", "val", plain, 0, "cpu")
    assert baseline_key("digits", "val", small, 0, "cpu")["resize"] == 16
