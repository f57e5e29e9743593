"""`bench predict`: the model is loaded and checked before any GHN work; leaf modules, tuple
outputs, input sizes and BatchNorm calibration give parameters usable outside the benchmark."""

import pytest
import torch
from torch import nn

from bench.commands.cli import main
from bench.harness.nets import logits_of
from tests.bench.commands.test_cli import PREDICT, TRAIN

BRANCHY = (
    "import torch.nn as nn\n"
    "class Gate(nn.Module):\n"
    "    def forward(self, x):\n"
    "        return x if x.sum() > 0 else -x\n"
    "class Net(nn.Module):\n"
    "    def __init__(self, num_classes=10):\n"
    "        super().__init__()\n"
    "        self.conv, self.bn, self.gate = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), Gate()\n"
    "        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))\n"
    "    def forward(self, x):\n"
    "        return self.head(self.gate(self.bn(self.conv(x)).relu()))\n"
)


def trained(home) -> list:
    """The GHN checkpoints written under `home` so far."""
    return sorted((home / "checkpoints").glob("*.pt")) if (home / "checkpoints").exists() else []


@pytest.mark.parametrize(
    "source, attr, message",
    [
        (None, "Net", "no file"),
        ("def broken(:\n", "Net", "line 1"),
        (
            "import torch.nn as nn\nclass Net(nn.Module):\n"
            "    def __init__(self, width):\n        super().__init__()\n",
            "Net",
            "needs arguments ['width']",
        ),
        ("x = 1\n", "Net", "has no attribute 'Net'"),
    ],
)
def test_a_bad_model_fails_before_any_training(home, tmp_path, capsys, source, attr, message):
    path = tmp_path / "user.py"
    if source is not None:
        path.write_text(source)
    assert main(["predict", "--gnn", "gcn", "--model", f"{path}:{attr}", *PREDICT]) == 2
    err = capsys.readouterr().err
    assert "--model" in err and message in err
    assert trained(home) == []


def test_leaf_classes_route_data_dependent_modules(home, tmp_path, capsys):
    path = tmp_path / "branchy.py"
    path.write_text(BRANCHY)
    assert main(["predict", "--gnn", "mlp", "--model", f"{path}:Net", *PREDICT]) == 2
    assert "leaf_modules" in capsys.readouterr().err and trained(home) == []
    assert main(["predict", "--gnn", "mlp", "--model", f"{path}:Net", "--leaf", "Gate", *PREDICT]) == 0
    assert "predicted" in capsys.readouterr().out
    assert main(["predict", "--gnn", "mlp", "--model", f"{path}:Net", "--leaf", "Gait", *PREDICT]) == 2
    assert "--leaf Gait: no such module class" in capsys.readouterr().err


def test_ghn_call_takes_leaf_modules():
    from gnn_zoo import GHN

    namespace: dict = {}
    exec(BRANCHY, namespace)
    net = namespace["Net"]()
    before = net.conv.weight.clone()
    GHN("mlp", "pyg", hidden=8)(net, leaf_modules=(namespace["Gate"],))
    assert not torch.equal(before, net.conv.weight)


def test_a_ckpt_of_another_core_is_not_silently_used(home, capsys):
    assert main(["train", "--gnn", "gcn", *TRAIN]) == 0
    (ckpt,) = trained(home)
    assert main(["predict", "--gnn", "gat", "--ckpt", str(ckpt), "--model", "resnet18", *PREDICT]) == 2
    assert "holds a gcn GHN; drop --gnn or pass --gnn gcn" in capsys.readouterr().err
    assert main(["predict", "--ckpt", str(ckpt), "--model", "resnet18", *PREDICT]) == 0  # the core comes from it


def test_tuple_and_dict_outputs_give_their_first_tensor():
    logits = torch.ones(2, 10)
    assert logits_of((logits, torch.zeros(2, 10))) is logits and logits_of({"out": logits, "aux": 1}) is logits
    with pytest.raises(ValueError, match="holding no tensor"):
        logits_of(("a", 1))


def test_a_model_needing_larger_inputs_names_the_image_size(home, tmp_path, capsys):
    path = tmp_path / "big.py"
    path.write_text(
        "import torch.nn as nn\n"
        "def Net(num_classes=10):\n"
        "    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 62 * 62, num_classes))\n"
    )
    assert main(["predict", "--gnn", "mlp", "--model", f"{path}:Net", *PREDICT]) == 2
    assert "pass --image-size 64" in capsys.readouterr().err and trained(home) == []


def test_saved_parameters_work_under_plain_eval(home, tmp_path, capsys):
    """--save calibrates BatchNorm on training images: the saved running statistics are not the
    defaults, and a fresh model loading them gives finite logits under model.eval()."""
    path = tmp_path / "branchy.py"
    path.write_text(BRANCHY)
    saved = tmp_path / "net.pt"
    assert (
        main(
            [
                "predict",
                "--gnn",
                "mlp",
                "--model",
                f"{path}:Net",
                "--leaf",
                "Gate",
                "--save",
                str(saved),
                "--calibrate-bn",
                "3",
                *PREDICT,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "calibrated on 3 batches" in out and "BatchNorm running statistics from 3 training batches" in out
    namespace: dict = {}
    exec(BRANCHY, namespace)
    net: nn.Module = namespace["Net"]()
    net.load_state_dict(torch.load(saved, weights_only=True))
    assert not torch.equal(net.bn.running_var, torch.ones(8)) and int(net.bn.num_batches_tracked) == 3
    assert torch.isfinite(net.eval()(torch.randn(4, 1, 8, 8))).all()


def test_a_model_returning_a_tuple_is_scored_on_its_first_tensor(home, tmp_path, capsys):
    path = tmp_path / "twohead.py"
    path.write_text(
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, num_classes=10):\n"
        "        super().__init__()\n"
        "        self.body = nn.Sequential(nn.Conv2d(1, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())\n"
        "        self.main, self.aux = nn.Linear(8, num_classes), nn.Linear(8, 3)\n"
        "    def forward(self, x):\n"
        "        h = self.body(x)\n"
        "        return self.main(h), {'aux': self.aux(h)}\n"
    )
    assert main(["predict", "--gnn", "mlp", "--model", f"{path}:Net", *PREDICT]) == 0
    assert "predicted" in capsys.readouterr().out


RGB_NET = (
    "import torch.nn as nn\n"
    "class Net(nn.Module):\n"
    "    def __init__(self, num_classes=10):\n"
    "        super().__init__()\n"
    "        self.body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),\n"
    "                                  nn.Flatten(), nn.Linear(8, num_classes))\n"
    "    def forward(self, x):\n"
    "        return self.body(x)\n"
    "class Flexible(nn.Module):\n"
    "    def __init__(self, in_channels=3, num_classes=10):\n"
    "        super().__init__()\n"
    "        self.body = nn.Sequential(nn.Conv2d(in_channels, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),\n"
    "                                  nn.Linear(8, num_classes))\n"
    "    def forward(self, x):\n"
    "        return self.body(x)\n"
    "class Four(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.body = nn.Sequential(nn.Conv2d(4, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))\n"
    "    def forward(self, x):\n"
    "        return self.body(x)\n"
)


def test_any_model_on_any_data_set(home, tmp_path, capsys):
    """An ordinary 3-channel model on grey digits: the images are repeated across its channels
    (and it says so); a model taking in_channels gets the data set's; a model that fits neither
    is an error naming the data set's shape and the flag."""
    path = tmp_path / "rgb.py"
    path.write_text(RGB_NET)
    assert main(["predict", "--gnn", "mlp", "--model", f"{path}:Net", "--save", str(tmp_path / "p.pt"), *PREDICT]) == 0
    out = capsys.readouterr().out
    assert "first layer takes 3 channels: the grey digits images are repeated across them" in out
    assert main(["predict", "--gnn", "mlp", "--model", f"{path}:Flexible", *PREDICT]) == 0
    assert "repeated" not in capsys.readouterr().out  # it was built with in_channels=1
    assert main(["predict", "--gnn", "mlp", "--model", f"{path}:Four", *PREDICT]) == 2
    err = capsys.readouterr().err
    assert "first layer takes 4 channels, but digits images are 1x" in err and "pass --dataset" in err
