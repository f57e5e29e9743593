import copy
import warnings

import pytest
import torch

from bench.config.presets import get_preset
from bench.harness.data import load_data
from bench.harness.train import TrainingDiverged, TrainSpec, load_checkpoint, train, train_architectures
from deepnets1m import spec_graph
from gnn_zoo import GHN

TINY = dict(steps=4, meta_batch=2, batch_size=16, hidden=16, max_train_params=5e5, ckpt_every=2)


@pytest.fixture(scope="module")
def digits():
    return load_data("digits")


def spec(gnn="gcn", **kw):
    return TrainSpec(gnn, "pyg", "digits", get_preset("tiny", **{**TINY, **kw}), seed=0)


def weights(path):
    return GHN.load(path).state_dict()


def test_train_writes_a_loadable_checkpoint(tmp_path, digits):
    report = train(spec(), digits, tmp_path, progress=False)
    assert report.checkpoint.exists() and report.steps == 4 and report.skipped == 0
    assert 0 < report.final_loss < 10
    ckpt = load_checkpoint(report.checkpoint)
    assert ckpt["train"]["step"] == 4 and ckpt["config"]["core"] == "gcn"
    assert GHN.load(report.checkpoint).config["hidden"] == 16


def test_training_is_deterministic_and_resume_matches(tmp_path, digits):
    full = train(spec(), digits, tmp_path / "a", progress=False)
    half = train(spec(steps=2), digits, tmp_path / "b", progress=False)
    # continue the 2-step run to 4 steps: same key except steps, so copy it into place
    resumed_path = spec().checkpoint(tmp_path / "b")
    half.checkpoint.rename(resumed_path)
    resumed = train(spec(), digits, tmp_path / "b", progress=False)
    assert resumed.resumed_from == 2
    again = train(spec(), digits, tmp_path / "c", progress=False)
    for key, value in weights(full.checkpoint).items():
        assert torch.equal(weights(again.checkpoint)[key], value), key  # same seed, same result
        assert torch.equal(weights(resumed.checkpoint)[key], value), key  # resuming is exact


def test_finished_checkpoint_is_reused(tmp_path, digits):
    first = train(spec(), digits, tmp_path, progress=False)
    stamp = first.checkpoint.stat().st_mtime_ns
    second = train(spec(), digits, tmp_path, progress=False)
    assert second.resumed_from == 4 and first.checkpoint.stat().st_mtime_ns == stamp


def test_other_settings_get_another_checkpoint(tmp_path):
    assert spec().checkpoint(tmp_path) != spec(lr=1e-4).checkpoint(tmp_path)
    assert spec().checkpoint(tmp_path) != spec("gat").checkpoint(tmp_path)
    assert spec().checkpoint(tmp_path) == spec(eval_nets=3).checkpoint(tmp_path)  # evaluation-only field


def test_architecture_stream_is_a_function_of_seed_and_step():
    a = train_architectures(0, 7, 3, 5e5)
    assert a == train_architectures(0, 7, 3, 5e5) and a != train_architectures(0, 8, 3, 5e5)


def test_nan_steps_are_redrawn_then_abort(tmp_path, digits, monkeypatch):
    monkeypatch.setattr("bench.harness.train.MAX_RETRIES", 2)
    original = GHN.predict

    def poisoned(self, batch):
        return [{k: v * float("nan") for k, v in p.items()} for p in original(self, batch)]

    monkeypatch.setattr(GHN, "predict", poisoned)
    with pytest.raises(TrainingDiverged, match="lower --lr"):
        train(spec(), digits, tmp_path, progress=False)


def test_corrupt_checkpoint_is_a_clear_error(tmp_path, digits):
    path = spec().checkpoint(tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="unreadable.*delete it"):
        train(spec(), digits, tmp_path, progress=False)


def test_bf16_autocast_step_trains_the_ghn(digits):
    """The AMP path (CUDA and bf16 CPUs) on any CPU: the GHN predicts in bfloat16, the nets get
    float32 parameters (their BatchNorm statistics are float32) and the GHN gets gradients."""
    from bench.harness.train import meta_loss

    ghn = GHN("gcn", hidden=16, num_classes=digits.num_classes)
    specs = train_architectures(0, 0, 2, 5e5)
    x, y = next(digits.train_batches(16, 0))
    graphs = [spec_graph(s, digits.num_classes, digits.in_channels, digits.image_size) for s in specs]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        preds = ghn.predict(ghn.batch(graphs))
        assert all(v.dtype == torch.float32 for p in preds for v in p.values())
        loss = meta_loss(ghn, ghn.predict, specs, x, y, digits)
    loss.backward()
    assert torch.isfinite(loss)
    grads = [p.grad for p in ghn.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_the_param_penalty_adds_the_predicted_norms_to_each_nets_loss(digits):
    """GHN-3's predparam_wd: each net's loss + P x the sum of its predicted tensors' Frobenius norms."""
    from bench.harness.train import build_meta_batch, nets_loss

    torch.manual_seed(0)
    ghn = GHN("gcn", hidden=16, num_classes=digits.num_classes)
    specs = train_architectures(0, 0, 2, 5e5)
    graphs, nets = build_meta_batch(specs, digits, torch.device("cpu"))
    x, y = next(digits.train_batches(16, 0))
    with torch.no_grad():
        preds = ghn.predict(ghn.batch(graphs))
        plain, penalised = (nets_loss(nets, preds, specs, x, y, digits, [0, 1], param_penalty=p) for p in (0.0, 0.1))
    norms = sum(sum(w.norm() for w in p.values()) for p in preds) / len(preds)
    torch.testing.assert_close(penalised, plain + 0.1 * norms)


def test_nets_run_channels_last_on_one_channel_images(digits):
    """A 1-channel image is NCHW-contiguous too; the predicted conv weights carry channels-last
    through the net: on maps larger than 1x1 (where both layouts are one) every conv's input is
    channels-last (channels at stride 1: slices of it included) but the stem's second, whose input
    comes from a conv of 1-channel images and a 1-input-channel weight, both NCHW as well."""
    from bench.harness.train import build_meta_batch, nets_loss

    torch.manual_seed(0)
    ghn = GHN("gcn", hidden=16, num_classes=digits.num_classes)
    specs = train_architectures(0, 0, 2, 5e5)
    graphs, nets = build_meta_batch(specs, digits, torch.device("cpu"))
    layouts = []

    def record(module, args):
        x = args[0]
        if x.shape[1] > 1 and x.shape[-1] * x.shape[-2] > 1:  # else both layouts are one
            layouts.append(x.stride(1) == 1)

    for net in nets:
        for m in net.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.register_forward_pre_hook(record)
    x, y = next(digits.train_batches(16, 0))
    nets_loss(nets, ghn.predict(ghn.batch(graphs)), specs, x, y, digits).backward()
    assert digits.in_channels == 1 and len(layouts) > 10 and layouts.count(False) <= len(nets)


def test_amp_flag_is_part_of_the_checkpoint_identity(tmp_path):
    plain = TrainSpec("gcn", "pyg", "digits", get_preset("tiny"), 0).checkpoint(tmp_path)
    amp = TrainSpec("gcn", "pyg", "digits", get_preset("tiny", amp=True), 0).checkpoint(tmp_path)
    assert plain != amp


def test_meta_batches_over_the_node_cap_are_redrawn():
    """GHN-2's cap: a meta-batch with more than max_meta_nodes nodes (at CIFAR-10 size) is
    redrawn for the same images, and the redraws are counted."""
    from bench.harness.train import step_architectures
    from deepnets1m.splits import REFERENCE_CONFIG

    def nodes(specs):
        return sum(spec_graph(s, **REFERENCE_CONFIG).num_nodes for s in specs)

    free = get_preset("tiny", meta_batch=4, max_meta_nodes=None)
    counts = [nodes(step_architectures(0, step, free)[0]) for step in range(20)]
    cap = sorted(counts)[5]  # most of these meta-batches are over it
    capped = get_preset("tiny", meta_batch=4, max_meta_nodes=cap)
    redraws = 0
    for step in range(20):
        specs, redrawn = step_architectures(0, step, capped)
        assert nodes(specs) <= cap and (redrawn > 0) == (counts[step] > cap)
        redraws += redrawn
    assert redraws >= 14
    with pytest.raises(ValueError, match="raise --max-meta-nodes"):
        step_architectures(0, 0, get_preset("tiny", meta_batch=4, max_meta_nodes=10))


def test_redraws_are_recorded_in_the_checkpoint(tmp_path, digits):
    report = train(spec(max_meta_nodes=600), digits, tmp_path, progress=False)
    assert load_checkpoint(report.checkpoint)["train"]["redrawn"] == report.redrawn


def test_label_smoothing_of_the_preset_reaches_the_loss(tmp_path, digits, monkeypatch):
    """GHN-2 trains on ImageNet with label-smoothed cross-entropy (0.1): the preset's value is the loss's."""
    import bench.harness.train

    seen = []
    cross_entropy = bench.harness.train.F.cross_entropy

    def spy(logits, y, **kw):
        seen.append(kw.get("label_smoothing"))
        return cross_entropy(logits, y, **kw)

    monkeypatch.setattr(bench.harness.train.F, "cross_entropy", spy)
    smoothed = train(spec(steps=1, label_smoothing=0.1), digits, tmp_path, progress=False)
    assert seen == [0.1, 0.1]  # the meta-batch's two nets
    assert spec(label_smoothing=0.1).checkpoint(tmp_path) != spec().checkpoint(tmp_path)
    assert smoothed.final_loss > 0


@pytest.mark.parametrize(
    "avx512_bf16, amx, expected", [(True, False, True), (False, True, True), (False, False, False)]
)
def test_cpu_autocast_only_with_native_bf16(monkeypatch, avx512_bf16, amx, expected):
    """AVX512F without AVX512-BF16/AMX emulates bf16 (2x slower than float32, issue 17): no autocast there."""
    import bench.harness.train as tr

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True, raising=False)  # oneDNN's yes
    assert tr.amp_supported(torch.device("cpu")) is expected
    assert isinstance(tr.mixed_precision(True, torch.device("cpu")), torch.autocast) is expected


def test_cpu_bf16_from_the_flags_where_torch_has_no_check(monkeypatch):
    import bench.harness.train as tr

    for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.delattr(torch.cpu, name, raising=False)
    monkeypatch.setattr(tr, "cpu_info", lambda: {"cpu": "x", "cpu_flags": ["avx2", "avx512f"]})
    assert not tr.native_cpu_bf16()
    monkeypatch.setattr(tr, "cpu_info", lambda: {"cpu": "x", "cpu_flags": ["avx512f", "avx512_bf16"]})
    assert tr.native_cpu_bf16()


def test_the_optimizer_steps_as_the_per_tensor_loop_and_resumes_in_its_own_kernel():
    """The fused Adam steps as torch's per-tensor loop (to float rounding), and resuming from a
    checkpoint saved by another kernel keeps the optimizer's own and continues the same steps."""
    from bench.harness.train import load_optimizer, make_optimizer

    torch.manual_seed(0)
    ghn = GHN("gcn", hidden=16)
    ref = [p.detach().clone().requires_grad_() for p in ghn.parameters()]
    grads = [torch.randn_like(p) for p in ref]
    preset = get_preset("tiny")
    loop = torch.optim.Adam(ref, lr=preset.lr, weight_decay=preset.weight_decay, foreach=False)
    ours = make_optimizer(ghn, preset)

    def steps(opts, n):
        for _ in range(n):
            for p, q, g in zip(ghn.parameters(), ref, grads):
                p.grad, q.grad = g.clone(), g.clone()
            for opt in opts:
                opt.step()

    steps([ours, loop], 3)
    saved = copy.deepcopy(loop.state_dict())  # as read from a checkpoint: no tensor shared with `loop`
    assert saved["param_groups"][0]["fused"] is None  # a state dict of another kernel
    resumed = make_optimizer(ghn, preset)
    kernel = {flag: resumed.param_groups[0][flag] for flag in ("fused", "foreach")}
    assert kernel["fused"] or kernel["foreach"]  # fused where torch has the kernel (>= 2.4), else multi-tensor
    load_optimizer(resumed, saved)
    assert {flag: resumed.param_groups[0][flag] for flag in kernel} == kernel
    steps([resumed, loop], 2)
    for p, q in zip(ghn.parameters(), ref):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def test_a_non_finite_step_redraws_nets_for_the_same_images(tmp_path, digits, monkeypatch):
    """As GHN-2: a non-finite loss draws another meta-batch for the same images (counted), and
    the step is taken with it."""
    import bench.harness.train as train_module

    original, seen = GHN.predict, []
    drawn = train_module.step_architectures

    def recording(seed, step, preset, retry=0):
        seen.append((step, retry))
        return drawn(seed, step, preset, retry)

    def poisoned_once(self, batch):
        out = original(self, batch)
        return [{k: v * float("nan") for k, v in p.items()} for p in out] if len(seen) == 1 else out

    monkeypatch.setattr(train_module, "step_architectures", recording)
    monkeypatch.setattr(GHN, "predict", poisoned_once)
    report = train(spec(steps=2, ckpt_every=2), digits, tmp_path, progress=False)
    assert seen == [(0, 0), (0, 1), (1, 0)] and report.skipped == 1 and report.final_loss < 10
    assert train_architectures(0, 0, 2, 5e5) != train_architectures(0, 0, 2, 5e5, retry=1)


def test_one_seed_gives_every_core_the_same_shell(digits):
    """Common random numbers: for one seed the shell (all but `core.`) is equal bit for bit across
    cores and views; another seed gives another shell; the cores' own weights differ."""
    from bench.harness.train import build_ghn

    def shell(gnn, seed, **kw):
        ghn = build_ghn(TrainSpec(gnn, "pyg", "digits", get_preset("tiny", **{**TINY, **kw}), seed), digits, "cpu")
        return {k: v for k, v in ghn.state_dict().items() if not k.startswith("core.")}

    gcn, gin, gat_undirected = shell("gcn", 3), shell("gin", 3), shell("gat", 3, view="undirected")
    assert gcn.keys() == gin.keys() == gat_undirected.keys()
    assert all(torch.equal(gcn[k], gin[k]) and torch.equal(gcn[k], gat_undirected[k]) for k in gcn)
    other = shell("gcn", 4)
    assert not all(torch.equal(gcn[k], other[k]) for k in gcn)
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    shell("gcn", 3)
    assert torch.equal(torch.rand(1), before)  # the global generator is left as it was


def test_a_collapsed_run_is_detected_from_its_losses_or_its_accuracy(tmp_path, digits, monkeypatch):
    """A GHN whose nets output constant logits trains at ln(10) every step: its records say so;
    a run whose loss moves is not flagged unless its nets score no better than random init."""
    import math

    from bench.harness.run_record import collapsed
    from bench.harness.train import training_summary

    original = GHN.predict

    def constant_logits(self, batch):
        return [{k: (v * 0 if k.startswith("classifier") else v) for k, v in p.items()} for p in original(self, batch)]

    monkeypatch.setattr(GHN, "predict", constant_logits)
    report = train(spec(steps=6), digits, tmp_path, progress=False)
    summary = training_summary(report.checkpoint, 10)
    assert summary["loss_at_chance"] and summary["loss_tail"] == pytest.approx(math.log(10), rel=1e-4)
    assert collapsed(summary["loss_at_chance"], {"ghn": {"mean": 30.0}, "random_init": {"mean": 10.0}})
    monkeypatch.setattr(GHN, "predict", original)
    moving = training_summary(train(spec(steps=6, lr=2e-3), digits, tmp_path, progress=False).checkpoint, 10)
    assert not moving["loss_at_chance"]
    assert not collapsed(False, {"ghn": {"mean": 30.0}, "random_init": {"mean": 10.0}})
    assert collapsed(False, {"ghn": {"mean": 9.0}, "random_init": {"mean": 10.0}})


def test_an_interrupted_training_names_the_step_its_checkpoint_holds(tmp_path, digits, monkeypatch):
    import bench.harness.train as train_module

    calls, original = [], train_module.meta_loss

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(train_module, "meta_loss", interrupted)
    with pytest.raises(KeyboardInterrupt, match="the last checkpoint holds step 2 of 4"):
        train(spec(), digits, tmp_path, progress=False)
    monkeypatch.setattr(train_module, "meta_loss", original)
    assert train(spec(), digits, tmp_path, progress=False).resumed_from == 2


def test_the_loss_curve_is_kept_across_a_resume(tmp_path, digits, monkeypatch):
    """A checkpoint keeps the median loss of every CURVE_EVERY steps, the same after a resume,
    and a record's training summary carries it."""
    from bench.harness.train import training_summary

    monkeypatch.setattr("bench.harness.train.CURVE_EVERY", 2)
    full = train(spec(), digits, tmp_path / "a", progress=False)
    half = train(spec(steps=2), digits, tmp_path / "b", progress=False)
    half.checkpoint.rename(spec().checkpoint(tmp_path / "b"))
    resumed = train(spec(), digits, tmp_path / "b", progress=False)
    curve = training_summary(full.checkpoint, 10)["curve"]
    assert curve["every"] == 2 and len(curve["median_loss"]) == 2 and all(x > 0 for x in curve["median_loss"])
    assert training_summary(resumed.checkpoint, 10)["curve"] == curve
    # CPU seconds count over the sessions of a training
    assert 0 < training_summary(half.checkpoint.with_name(spec().checkpoint(tmp_path / "b").name), 10)["cpu_seconds"]


def test_ghn3_starts_from_its_own_init_once_under_a_preset_adopting_ghn3s_init(digits, monkeypatch):
    """A named preset with decoder_init ghn3 (the variance study's lever for GHN-2's decoder) leaves
    GHN-3 at its own init, weights / 5 once, not / 25; a preset with hyperfan refuses GHN-3."""
    from bench.config.presets import PRESETS, extends
    from bench.harness.train import build_ghn

    monkeypatch.setitem(PRESETS, "tiny-ghn3-init", extends(PRESETS["tiny"], "tiny-ghn3-init", decoder_init="ghn3"))
    monkeypatch.setitem(PRESETS, "tiny-hyperfan", extends(PRESETS["tiny"], "tiny-hyperfan", decoder_init="hyperfan"))
    built = {
        name: build_ghn(TrainSpec("gcn", "pyg", "digits", get_preset(name, "ghn3", **TINY), 0), digits, "cpu")
        for name in ("tiny", "tiny-ghn3-init")
    }
    for layer in ("conv2", "classifier"):
        assert torch.equal(
            getattr(built["tiny"].decoder, layer).weight, getattr(built["tiny-ghn3-init"].decoder, layer).weight
        )
    with pytest.raises(ValueError, match="preset tiny-hyperfan sets decoder_init hyperfan"):
        get_preset("tiny-hyperfan", "ghn3")
    get_preset("tiny-hyperfan", "ghn2")  # GHN-2's decoder takes it


@pytest.mark.parametrize("kind", ["ghn3", "hyperfan"])
def test_decoder_inits_set_the_scale_of_the_first_predicted_weights(digits, kind):
    """ghn3: the decoder's last layers / 5 and zero biases; hyperfan: predicted weights start at
    their target std (RMS ratio 1 on the probe it measured, near 1 on other nets), where GHN-2's
    default init starts them ~10x smaller."""
    from bench.harness.train import PROBE_NETS, build_ghn, build_meta_batch, train_architectures
    from gnn_zoo.init import weight_rms

    plain = build_ghn(spec(), digits, torch.device("cpu"))
    ghn = build_ghn(spec(decoder_init=kind), digits, torch.device("cpu"))
    other = ghn.batch(build_meta_batch(train_architectures(0, 7, 4, 5e5), digits, torch.device("cpu"))[0])
    with torch.no_grad():
        base, ratios = weight_rms(plain, other), weight_rms(ghn, other)
    assert base[0] < 0.3  # GHN-2's init: far below the fan-in scale
    if kind == "ghn3":
        for name in ("conv2", "classifier"):
            assert torch.equal(getattr(ghn.decoder, name).weight, getattr(plain.decoder, name).weight / 5)
            assert not getattr(ghn.decoder, name).bias.any()
        assert ratios[0] < base[0] / 3
    else:
        probe = ghn.batch(
            build_meta_batch(
                train_architectures(0, 0, PROBE_NETS, 5e5, attempt=PROBE_NETS), digits, torch.device("cpu")
            )[0]
        )
        with torch.no_grad():
            assert weight_rms(ghn, probe) == pytest.approx((1.0, 1.0), rel=1e-3)
        assert ratios == pytest.approx((1.0, 1.0), abs=0.25)


def test_a_second_trainer_of_the_same_ghn_waits_and_says_so(tmp_path, capsys):
    """training_lock: while one process holds a checkpoint's lock, another waits (saying so) and
    goes on once it is released."""
    import threading
    import time

    from bench.harness.train import training_lock

    path, held, order = tmp_path / "g.pt", threading.Event(), []

    def first():
        with training_lock(path):
            held.set()
            time.sleep(0.5)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait()
    with training_lock(path):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]
    assert "another process is training this GHN (g.pt); waiting" in capsys.readouterr().err


def test_a_checkpoint_in_progress_says_so_when_loaded(tmp_path, digits, monkeypatch):
    import gnn_zoo

    path = train(spec(), digits, tmp_path, progress=False).checkpoint
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["train"]["of"] == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gnn_zoo.load(path)  # finished: no warning
    ckpt["train"]["step"] = 2
    torch.save(ckpt, path)
    with pytest.warns(UserWarning, match="still in progress \\(step 2 of 4\\)"):
        gnn_zoo.load(path)
