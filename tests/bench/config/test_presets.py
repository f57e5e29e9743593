import pytest
import torch

from bench.config.presets import PRESETS, get_preset


def test_label_is_the_name_unless_a_setting_was_overridden():
    assert get_preset("tiny").label == "tiny"
    assert get_preset("tiny", steps=PRESETS["tiny"].steps).label == "tiny"  # the same value is no override
    shorter, longer = get_preset("tiny", steps=10).label, get_preset("tiny", steps=20).label
    assert shorter.startswith("tiny-") and len(shorter) == len("tiny-") + 8 and shorter != longer
    assert get_preset("tiny", steps=10).label == shorter  # a pure function of the settings
    assert get_preset("tiny", eval_nets=3).label != "tiny"  # evaluation settings count too


def test_unknown_preset_and_fields_are_refused():
    with pytest.raises(
        ValueError, match="unknown preset 'huge'; available: tiny, cpu30, rank, small, paper, paper-imagenet"
    ):
        get_preset("huge")
    with pytest.raises(ValueError, match="unknown preset fields"):
        get_preset("tiny", colour="red")


def test_noisy_evaluation_is_its_own_record_but_reuses_the_ghn(tmp_path):
    from bench.harness.train import TrainSpec

    clean, noisy = get_preset("tiny"), get_preset("tiny", eval_noise=0.08)
    assert noisy.label != clean.label  # its records and tables never mix with clean ones
    assert TrainSpec("gcn", "pyg", "digits", clean, 0).checkpoint(tmp_path) == TrainSpec(
        "gcn", "pyg", "digits", noisy, 0
    ).checkpoint(tmp_path)


def test_a_ghn_variant_keeps_the_preset_name_and_sets_what_it_forces(tmp_path):
    """GHN-1 trains with m = 1 and no virtual edges; its records and checkpoints are its own,
    yet its table is the preset's (the variant is part of the record's identity, not the label)."""
    from bench.harness.train import TrainSpec

    ghn1 = get_preset("paper", ghn="ghn1")
    assert (ghn1.label, ghn1.ghn, ghn1.meta_batch, ghn1.max_hops) == ("paper", "ghn1", 1, 1)
    assert get_preset("paper", ghn="ghn1", meta_batch=8).label != "paper"  # an override beyond the variant
    a, b = (TrainSpec("gatedgnn", "pyg", "cifar10", p, 0).checkpoint(tmp_path) for p in (get_preset("paper"), ghn1))
    assert a != b and b.name.startswith("ghn1-gatedgnn_")
    with pytest.raises(ValueError, match="unknown GHN variant 'ghn4'"):
        get_preset("tiny", ghn="ghn4")


def test_paper_ghn3_is_the_reference_ghn3_command():
    """GHN-3-T/m8's recipe: AdamW 4e-4 / 1e-2, 5 of 75 epochs of warmup then cosine, clip 5, AMP,
    label smoothing 0.1, 3e-5 x the predicted norms, m 8 on 128 images, hidden 64; ImageNet only.
    GHN-3's own init is no --decoder-init's to change."""
    p = get_preset("paper-ghn3", ghn="ghn3")
    assert (p.optimizer, p.lr, p.weight_decay, p.schedule, p.warmup, p.grad_clip, p.amp) == (
        "adamw",
        4e-4,
        1e-2,
        "cosine",
        5 / 75,
        5.0,
        True,
    )
    assert (p.label_smoothing, p.param_penalty, p.meta_batch, p.batch_size, p.hidden) == (0.1, 3e-5, 8, 128, 64)
    assert p.steps == 75 * 10_010 and p.datasets == ("imagenet",) and p.label == "paper-ghn3"
    assert "param_penalty" in p.training_fields() and "param_penalty" not in get_preset("tiny").training_fields()
    with pytest.raises(ValueError, match="GHN-3's own init"):
        get_preset("tiny", ghn="ghn3", decoder_init="hyperfan")


def test_paper_recipes_are_for_their_data_sets():
    """`paper` is GHN-2's CIFAR recipe, `paper-imagenet` its ImageNet one (section 7)."""
    from bench.config.presets import check_dataset

    imagenet = get_preset("paper-imagenet")
    assert (imagenet.meta_batch, imagenet.batch_size, imagenet.label_smoothing) == (8, 256, 0.1)
    assert imagenet.steps == 150 * 4810 and imagenet.eval_images == 50_000 and not imagenet.amp
    check_dataset(imagenet, "imagenet")
    with pytest.raises(
        ValueError,
        match="--preset paper is the recipe for cifar10, cifar100, not imagenet; use "
        "--preset tiny or cpu30 or rank or small or paper-imagenet",
    ):
        check_dataset(get_preset("paper"), "imagenet")
    check_dataset(get_preset("tiny"), "imagenet")  # the CPU presets fit any data set


def test_warmup_raises_the_lr_linearly_then_decays_and_keys_only_runs_that_set_it(tmp_path):
    from bench.harness.train import TrainSpec, lr_factor

    plain, warm = get_preset("tiny", steps=100), get_preset("tiny", steps=100, warmup=0.1)
    assert [lr_factor(warm, s) for s in (0, 4, 9, 10)] == pytest.approx([0.1, 0.5, 1.0, 1.0])
    assert [lr_factor(plain, s) for s in (0, 69, 70, 90)] == pytest.approx([1.0, 1.0, 0.1, 0.01])
    assert lr_factor(warm, 90) == pytest.approx(0.01)  # warmup leaves the decay as it was
    assert "warmup" not in plain.training_fields() and warm.training_fields()["warmup"] == 0.1
    assert warm.label != plain.label
    assert TrainSpec("gcn", "pyg", "digits", warm, 0).checkpoint(tmp_path) != TrainSpec(
        "gcn", "pyg", "digits", plain, 0
    ).checkpoint(tmp_path)


def test_cosine_schedule_and_adamw_are_fields_that_key_only_runs_that_set_them(tmp_path):
    """--schedule cosine: the warmup, then a half cosine to 0 (GHN-3); --optimizer adamw: torch's
    AdamW; both part of a checkpoint's key and a preset's label only when set; a name outside a
    field's choices is refused naming the flag."""
    from bench.harness.train import TrainSpec, lr_factor, make_optimizer
    from gnn_zoo import GHN

    cosine = get_preset("tiny", steps=110, warmup=10 / 110, schedule="cosine")
    assert [lr_factor(cosine, s) for s in (0, 9, 10, 60, 110)] == pytest.approx([0.1, 1.0, 1.0, 0.5, 0.0], abs=1e-9)
    plain = get_preset("tiny")
    assert not {"schedule", "optimizer", "decoder_init"} & set(plain.training_fields())
    for changed in (dict(schedule="cosine"), dict(optimizer="adamw"), dict(decoder_init="hyperfan")):
        other = get_preset("tiny", **changed)
        assert other.label != plain.label and other.training_fields().items() >= changed.items()
        assert TrainSpec("gcn", "pyg", "digits", other, 0).checkpoint(tmp_path) != TrainSpec(
            "gcn", "pyg", "digits", plain, 0
        ).checkpoint(tmp_path)
    assert isinstance(make_optimizer(GHN("gcn", hidden=16), get_preset("tiny", optimizer="adamw")), torch.optim.AdamW)
    assert type(make_optimizer(GHN("gcn", hidden=16), plain)) is torch.optim.Adam
    with pytest.raises(ValueError, match="--optimizer 'sgd': choose from adam, adamw"):
        get_preset("tiny", optimizer="sgd")
