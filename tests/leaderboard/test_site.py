"""The static leaderboard site: valid HTML, one row per model, the best group bold, every image
and link resolving to a file, what the table is in its header block (browser: test_site_browser)."""

from pathlib import Path
from urllib.parse import unquote

import html5lib
import pytest

from bench.commands.cli import main
from leaderboard.render import render


def parse(path: Path):
    """The page as an element tree; html5lib's strict mode raises on any HTML parse error."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(path.read_bytes())


def text(element) -> str:
    return "".join(element.itertext()).strip()


def rows(table, body: str):
    return [tr for tb in table.findall("tbody") if tb.get("class") == body for tr in tb.findall("tr")]


@pytest.fixture
def site(tmp_path, board):
    done = render(tmp_path / "db.sqlite", [board], tmp_path / "site")
    return done, tmp_path / "site"


def test_the_index_is_valid_html_with_one_row_per_model_and_the_best_group_bold(site):
    done, out = site
    assert done.files[0] == out / "index.html"
    index = parse(out / "index.html")
    table = index.find(".//table")
    header = [text(th) for th in table.find("thead").find("tr")]
    assert header == ["model", "view", "core params", "seeds", "val", "ood-deep", "avg rank"]  # one header row
    models = [text(tr.find("th")) for tr in rows(table, "ranked")]
    assert sorted(models) == ["gat/pyg", "gcn/pyg", "gin/pyg"] and models[-1] == "gin/pyg"
    assert [text(tr.find("th")) for tr in rows(table, "baseline")] == ["random init"]  # a row apart
    for tr in rows(table, "ranked"):
        bold = [td.find("b") is not None for td in tr.findall("td")[3:5]]
        assert bold == ([False, False] if text(tr.find("th")) == "gin/pyg" else [True, True])
        assert all(td.get("data-value") for td in tr.findall("td")[2:])  # sortable by number
    about = {text(dt): text(dd) for dt, dd in zip(index.iter("dt"), index.iter("dd"))}
    assert (
        about["data set"] == "digits"
        and about["seeds"] == "5 per cell"
        and "seeds needed per model for" in about["resolution"]
        and about["protocol"] == "v1"
    )
    assert about["nets per split"] == "val 8, ood-deep 8" and about["images per net"].startswith("360")
    assert "torch 2.14.1" in about["libraries"] and about["git commit"] == "0123456789ab"
    assert about["hardware"] == "Test CPU, 2 cores, device cpu" and "newest 2026-01-05" in about["records"]


def test_every_image_and_link_resolves_to_a_file(site):
    _, out = site
    pages = [out / "index.html", out / "digits_tiny.html"]
    images = []
    for path in pages:
        tree = parse(path)
        images += [img.get("src") for img in tree.iter("img")]
        local = [a.get("href") for a in tree.iter("a") if not a.get("href").startswith("#")]
        local += [e.get("href") or e.get("src") for e in [*tree.iter("link"), *tree.iter("script")]]
        for href in local:
            assert (out / unquote(href.split("#")[0])).is_file(), href
    kinds = {name.removeprefix("digits_tiny_").removesuffix(".png") for name in images}
    assert {"heatmap", "bars", "id_vs_ood", "improvement", "nets_val", "nets_ood-deep"} <= kinds


def test_the_detail_page_lists_every_net_and_links_the_records(site, board):
    _, out = site
    page = parse(out / "digits_tiny.html")
    tables = page.findall(".//table")
    val = tables[0]
    assert [text(th) for th in val.find("thead").find("tr")] == [
        "arch",
        "params",
        "random init",
        "10 SGD steps",
        "gat/pyg",
        "gcn/pyg",
        "gin/pyg",
        "predict ms",
    ]
    assert [text(tr.find("th")) for tr in val.find("tbody")] == [f"val/{i}" for i in range(8)]
    first = [text(td) for td in val.find("tbody").find("tr").findall("td")]
    assert first[0] == "10,000" and first[1:3] == ["9.0", "30.0"] and first[-1] == "1.5"
    links = [a.get("href") for a in tables[-1].iter("a")]
    assert len(links) == 2 * 3 * 5 and all((out / unquote(h)).resolve().parent == board.resolve() for h in links)


def test_published_rows_only_on_request_marked_and_unranked(tmp_path, write):
    for seed in range(3):
        write(gnn="gatedgnn", split="val", dataset="cifar10", preset="paper", seed=seed, mean=60.0 + seed)
    plain = render(tmp_path / "db.sqlite", [tmp_path / "results"], tmp_path / "a", with_plots=False)
    assert "published" not in (tmp_path / "a" / "index.html").read_text() and plain.files
    render(tmp_path / "db.sqlite", [tmp_path / "results"], tmp_path / "b", reference=True, with_plots=False)
    table = parse(tmp_path / "b" / "index.html").find(".//table")
    imported = rows(table, "imported")
    assert imported and all(text(tr.find("th").find("span")) == "published" for tr in imported)
    assert all(text(tr.findall("td")[-1]) == "" for tr in imported)  # no average rank among ours
    assert [text(tr.find("th")) for tr in rows(table, "ranked")] == ["gatedgnn/pyg"]


def test_the_cli_prints_the_page_to_open(tmp_path, write, capsys):
    write(gnn="gat")
    assert (
        main(
            [
                "leaderboard",
                "--results",
                str(tmp_path / "results"),
                "--db",
                str(tmp_path / "db.sqlite"),
                "--out",
                str(tmp_path / "site"),
                "--no-plots",
            ]
        )
        == 0
    )
    assert f"open {(tmp_path / 'site' / 'index.html').resolve().as_uri()}" in capsys.readouterr().err
