import dataclasses

from PIL import Image

from bench.commands.cli import main
from leaderboard.render import render


def test_render_writes_every_format_and_plot(tmp_path, write):
    for gnn, val, deep in [("gat", 60.0, 50.0), ("gcn", 40.0, 45.0)]:
        write(gnn=gnn, split="val", mean=val)
        write(gnn=gnn, split="ood-deep", mean=deep)
    write(gnn="gat", split="val", dataset="cifar10", preset="paper")
    done = render(tmp_path / "db.sqlite", [tmp_path / "results"], tmp_path / "out", reference=True)
    names = sorted(p.name for p in done.files)
    assert names == sorted(
        [
            "index.html",
            "digits_tiny.html",
            "cifar10_paper.html",
            "site.css",
            "site.js",
            "leaderboard.md",
            "leaderboard.csv",
            "digits_tiny_heatmap.png",
            "digits_tiny_bars.png",
            "digits_tiny_id_vs_ood.png",
            "cifar10_paper_heatmap.png",
            "cifar10_paper_bars.png",
            "cifar10_paper_id_vs_ood.png",
        ]
    )
    assert "imagenet" not in " ".join(names)  # no imported-only tables
    for p in done.files:
        if p.suffix == ".png":
            assert Image.open(p).size[0] > 200
    md = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "### digits, preset tiny" in md and "| gat/pyg | 60.0 ± 1.0 | 50.0 ± 1.0 |" in md
    assert "GHN-2 (paper)" in md.split("### cifar10")[1]  # imported rows only where they belong
    assert "GHN-2 (paper)" not in md.split("### cifar10")[0]
    csv = (tmp_path / "out" / "leaderboard.csv").read_text().splitlines()
    assert csv[0] == (
        "dataset,preset,metric,model,split,mean,stderr,ci_low,ci_high,seeds,seed_sd,best_group,imported,"
        "view,core_params,detectable,seeds_for_3,seeds_for_4"
    )
    assert "| gat/pyg | 60.0 ± 1.0 | 50.0 ± 1.0 | 1.00 | 1 | virtual | 900 |" in md  # what was compared
    assert "<table" in (tmp_path / "out" / "index.html").read_text() and "<table" in done.text["html"]


def test_cli_warns_about_corrupt_records_and_renders_the_others(tmp_path, write, capsys):
    write(gnn="gat")
    (tmp_path / "results" / "broken.json").write_text("{")
    code = main(
        ["leaderboard", "--results", str(tmp_path / "results"), "--db", str(tmp_path / "db.sqlite"), "--format", "csv"]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "warning: skipped" in err and "broken.json" in err
    assert "digits,tiny,top1,gat/pyg,val,50.0" in out


def test_imagenet_ranks_top5_and_never_mixes_metrics(tmp_path):
    """ImageNet tables rank top-5 (the papers' headline there), and a published top-5 figure
    only ever sits beside our top-5 figures."""
    from bench.config.schema import write_record

    from .conftest import make_record

    record = make_record(gnn="gat", split="test", dataset="imagenet", preset="paper", mean=20.0)
    record["metrics"]["ghn_top5"] = {"mean": 45.0, "stderr": 2.0, "max": 60.0, "n": 10}
    record["metrics"]["random_init_top5"] = {"mean": 0.5, "stderr": 0.1, "max": 1.0, "n": 10}
    write_record(tmp_path / "results", record)
    done = render(tmp_path / "db.sqlite", [tmp_path / "results"], None, reference=True, with_plots=False)
    md = done.text["md"]
    assert "### imagenet, preset paper: top-5 accuracy (%)" in md
    assert "| gat/pyg | 45.0 ± 2.0 |" in md and "27.2 ± 0.6" in md  # ours and GHN-2's top-5, side by side
    top1 = render(
        tmp_path / "db.sqlite", [tmp_path / "results"], None, metric="top1", reference=True, with_plots=False
    ).text["md"]
    assert "top-1 accuracy" in top1 and "| gat/pyg | 20.0 ± 1.0 |" in top1 and "(paper)" not in top1


def test_cli_with_no_records_explains(tmp_path, capsys):
    (tmp_path / "results").mkdir()
    code = main(["leaderboard", "--results", str(tmp_path / "results"), "--db", str(tmp_path / "db.sqlite")])
    assert code == 2
    assert "run `bench run" in capsys.readouterr().err


def test_a_hashed_preset_label_says_what_it_changed(tmp_path):
    from bench.config.presets import get_preset
    from bench.config.schema import write_record

    from .conftest import make_record

    preset = get_preset("tiny", steps=40, eval_nets=5)
    for seed in range(2):
        record = make_record("gcn", seed=seed, preset=preset.label, accs=[20.0 + seed, 22.0, 25.0])
        record["preset_fields"] = dataclasses.asdict(preset)
        write_record(tmp_path / "results", record)
    md = render(tmp_path / "db.sqlite", [tmp_path / "results"], None, with_plots=False)
    assert f"Preset {preset.label}: tiny with eval nets 5, steps 40." in md.text["md"]


def test_seeds_loss_curves_are_plotted_per_model(tmp_path):
    """Records that keep a loss curve get a figure with every seed's curve, one panel per model,
    in the site's index; a seed's GHN counts once whatever splits it was scored on."""
    from bench.config.schema import write_record
    from leaderboard.plots import loss_frame

    from .conftest import make_record

    records = []
    for gnn in ("gcn", "gat"):
        for seed in range(3):
            for split in ("val", "ood-deep"):
                r = make_record(gnn, split, seed, mean=40.0 + seed)
                r["training"] = {"curve": {"every": 50, "median_loss": [2.3, 2.3 - 0.1 * seed, 1.5]}}
                records.append(r)
                write_record(tmp_path / "results", r)
    frame = loss_frame(records)
    assert len(frame) == 2 * 3 * 3 and sorted(frame["step"].unique()) == [50, 100, 150]
    done = render(tmp_path / "db.sqlite", [tmp_path / "results"], tmp_path / "out")
    assert "digits_tiny_loss.png" in {p.name for p in done.files}
    assert Image.open(tmp_path / "out" / "digits_tiny_loss.png").size[0] > 600
    assert "digits_tiny_loss.png" in (tmp_path / "out" / "index.html").read_text()


def test_the_notes_say_what_the_runs_cost(tmp_path):
    """Each GHN's training counts once (its records of every split share it), by CPU time where the
    record has it, else wall-clock and said so; each record's evaluation where it is timed."""
    from bench.config.schema import write_record

    from .conftest import make_record

    for gnn, training in (("gcn", {"cpu_seconds": 1800.0}), ("gat", {})):
        for seed in range(2):
            for split in ("val", "ood-deep"):
                r = make_record(gnn, split, seed)
                r.update(training=training, train_seconds=3600.0, eval_cpu_seconds=360.0)
                r["hardware"] = {"cpu": "AMD EPYC", "cores": 2}
                write_record(tmp_path / "results", r)
    md = render(tmp_path / "db.sqlite", [tmp_path / "results"], None, with_plots=False).text["md"]
    assert (
        "Compute: 4 GHNs trained in 3.0 CPU hours (2 of them by wall-clock time: their records have no CPU "
        "time), 8 of the 8 records evaluated in 0.8 CPU hours; on AMD EPYC (2 cores)."
    ) in md


def test_the_sgd_baseline_is_in_the_notes_and_the_site(tmp_path):
    from bench.config.schema import write_record

    from .conftest import make_record

    for seed, sgd in ((0, 40.0), (1, 50.0)):
        for gnn in ("gcn", "gat"):
            r = make_record(gnn, "val", seed)
            r["metrics"]["sgd"] = {"mean": sgd, "stderr": 1.0, "max": sgd, "n": 5}
            r["sgd_steps"] = 10
            write_record(tmp_path / "results", r)
    done = render(tmp_path / "db.sqlite", [tmp_path / "results"], tmp_path / "out", with_plots=False)
    line = "Baseline, 10 SGD steps from random init (the first nets of each split only): val 45.0 (5 nets)."
    assert line in done.text["md"] and "10 SGD steps from random init" in (tmp_path / "out" / "index.html").read_text()


def test_a_table_under_the_trimmed_comparison_states_its_resolution_from_a_power_table(tmp_path, capsys):
    """--comparison trimmed: the best group by trimmed means (Holm), no normal-formula resolution;
    with --power-table of that comparison, the resolution read off the simulated table; a table of
    another comparison is refused."""
    import json

    from bench.commands.cli import main
    from bench.config.schema import write_record
    from leaderboard.simulate import Grid, PowerTable, SeedDistribution

    from .conftest import board_records

    for record in board_records({"gat": 5.0, "gcn": 5.0, "gin": -6.0}):
        write_record(tmp_path / "results", record)
    base = ["leaderboard", "--results", str(tmp_path / "results"), "--db", str(tmp_path / "db")]
    assert main([*base, "--comparison", "trimmed"]) == 0
    out = capsys.readouterr().out
    assert "Yuen-Welch on 20%-trimmed seed means, Holm-corrected" in out and "Resolution: not stated" in out
    table = PowerTable(
        "trimmed",
        SeedDistribution(1.5, 0.15, 12.0),
        Grid(),
        {5: {3.0: 0.5, 5.0: 0.82}, 12: {3.0: 0.81, 5.0: 0.99}},
        100,
    )
    (tmp_path / "power.json").write_text(json.dumps(table.to_json()))
    assert main([*base, "--comparison", "trimmed", "--power-table", str(tmp_path / "power.json")]) == 0
    out = capsys.readouterr().out
    assert (
        "Resolution (simulated: trimmed, a core of SD 1.5 with 15% outliers of SD 12.0, 100 grids a cell): "
        "5 seeds detect 5 points at 80% power; seeds needed per model for 3 points 12, 4 points 12, 5 points 5." in out
    )
    assert main([*base, "--power-table", str(tmp_path / "power.json")]) == 2
    assert "simulates the trimmed comparison, not welch" in capsys.readouterr().err
