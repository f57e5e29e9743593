import pytest

from bench.cli import main
from deepnets1m.cache import GraphCache


def test_generate_command(tmp_path, capsys):
    assert main(["generate", "--split", "val", "--n", "12", "--root", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "generated 12 val architectures" in out and "arch/s" in out
    assert len(GraphCache(tmp_path / "val_c10_i3_s32")) == 12
    assert main(["generate", "--split", "val", "--n", "12", "--root", str(tmp_path), "--no-progress"]) == 0
    assert "already cached" in capsys.readouterr().out


def test_generate_for_another_input_configuration(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    args = ["generate", "--split", "ood-bnfree", "--n", "3", "--num-classes", "100", "--in-channels", "1",
            "--image-size", "8", "--no-progress"]
    assert main(args) == 0
    graph = GraphCache(tmp_path / "graphs" / "ood-bnfree_c100_i1_s8")[0]
    assert graph.param_shapes[-1] == (100,)


def test_unknown_split_lists_the_choices(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "--split", "ood-huge"])
    assert exit_.value.code == 2
    assert "ood-deep" in capsys.readouterr().err


def test_out_of_range_n_is_reported(tmp_path, capsys):
    assert main(["generate", "--split", "val", "--n", "501", "--root", str(tmp_path)]) == 2
    assert "between 1 and 500" in capsys.readouterr().err
