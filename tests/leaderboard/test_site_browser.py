"""The leaderboard site in a real browser: Debian's headless Chromium loads the pages, runs their
script, and the DOM it dumps is checked (sorting by a header click, bold best group, images).
Skipped, saying why, where Chromium is absent; GHNBENCH_SCREENSHOT=path also keeps the screenshot
(of synthetic records; README's picture is the site of real ones, docs/leaderboard.md)."""

import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import html5lib
import pytest
from PIL import Image

from leaderboard.render import render

# flags for a root user on a machine without network or display (no sandbox, no GPU, no Google services)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
]
PROBE = """<script>
window.addEventListener("load", () => {
  const table = document.querySelector("table.leaderboard");
  const order = () => Array.from(table.tBodies[0].rows, (row) => row.cells[0].textContent.trim());
  const header = Array.from(table.tHead.rows[0].cells).find((th) => th.textContent.trim() === "ood-deep");
  const result = {before: order()};
  header.click();
  result.first = order();
  result.firstSort = header.getAttribute("aria-sort");
  header.click();
  result.second = order();
  result.secondSort = header.getAttribute("aria-sort");
  result.images = Array.from(document.images, (img) => img.src);
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>
</body>"""


@pytest.fixture(scope="module")
def chromium():
    exe = os.environ.get("GHNBENCH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip(
            "headless Chromium not found: install Debian's chromium package (`apt-get install chromium`; "
            "tox's py env tries that as root) or point GHNBENCH_CHROMIUM at a Chromium binary"
        )
    return exe


def browse(exe: str, tmp: Path, *args: str) -> str:
    done = subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dom(exe: str, tmp: Path, page: Path):
    html = browse(exe, tmp, "--dump-dom", page.as_uri())
    return html5lib.HTMLParser(namespaceHTMLElements=False).parse(html)


def text(element) -> str:
    return "".join(element.itertext()).strip()


@pytest.mark.browser
def test_the_site_in_headless_chromium(tmp_path, board, chromium):
    out = tmp_path / "site"
    render(tmp_path / "db.sqlite", [board], out)
    page = dom(chromium, tmp_path, out / "index.html")
    table = page.find(".//table")
    ranked = [tr for tb in table.findall("tbody") if tb.get("class") == "ranked" for tr in tb.findall("tr")]
    assert sorted(text(tr.find("th")) for tr in ranked) == ["gat/pyg", "gcn/pyg", "gin/pyg"]  # a row per model
    assert all(th.get("tabindex") == "0" for th in table.find("thead").find("tr"))  # the script ran
    deep = {text(tr.find("th")): (float(tr.findall("td")[4].get("data-value")), tr.findall("td")[4]) for tr in ranked}
    for model, (_, cell) in deep.items():  # the best group is bold (gin is 11 points behind)
        best = model != "gin/pyg"
        assert (cell.find("b") is not None) == best and (cell.get("class") == "best") == best

    probe_page = out / "probe.html"
    probe_page.write_text((out / "index.html").read_text().replace("</body>", PROBE))
    result = json.loads(text(dom(chromium, tmp_path, probe_page).find(".//pre[@id='probe']")))
    by_deep = sorted(deep, key=lambda m: -deep[m][0])
    assert result["first"] == by_deep and result["firstSort"] == "descending"  # a click sorts the rows
    assert result["second"] == by_deep[::-1] and result["secondSort"] == "ascending"  # a second reverses them
    assert len(result["images"]) == 4  # heatmap, bars, ID vs OOD, P(X > Y) (the CD diagram needs 10 seeds)
    for src in result["images"]:  # every image resolves to a PNG file beside the page
        path = Path(unquote(urlparse(src).path))
        assert path.is_file() and Image.open(path).format == "PNG", src

    shot = tmp_path / "site.png"
    browse(chromium, tmp_path, "--window-size=1280,1600", f"--screenshot={shot}", (out / "index.html").as_uri())
    assert Image.open(shot).size == (1280, 1600)
    if os.environ.get("GHNBENCH_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["GHNBENCH_SCREENSHOT"])
