"""The report in a real browser: headless Chromium renders it offline; the verdict and figures are on the page.

A copy of the report gets a small script that, once the page has loaded, writes what the browser
sees (decoded image sizes, positions, the provenance table's right edge) into the DOM, which
``--dump-dom`` prints. A screenshot checks the page is painted (the emerged row's background).
Skips when Chromium is absent; CI installs Debian's ``chromium`` (``.ci/run``).
"""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hackwatch.report import write_report
from tests.report.synthetic_run import build_synthetic_run, write_rollouts_file
from tests.report.test_explore import _locked_organism

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                 if p and Path(p).is_file()), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium; "
                                                         "CI's .ci/run installs it)")

PROBE = """<script>window.addEventListener('load', () => {
  const top = e => e ? e.getBoundingClientRect().top + window.scrollY : null;
  const prov = document.getElementById('provenance');
  const out = document.createElement('pre'); out.id = 'probe';
  out.textContent = JSON.stringify({
    images: [...document.images].map(i => ({alt: i.alt, width: i.naturalWidth, complete: i.complete})),
    verdictTop: top(document.getElementById('verdict')), firstImageTop: top(document.images[0]),
    verdictRows: [...document.querySelectorAll('#verdict tbody tr')].map(r => [r.className, r.cells[0].textContent]),
    provenanceRight: prov ? prov.getBoundingClientRect().right : null, viewport: window.innerWidth,
    folded: [...document.querySelectorAll('details > summary')].map(s => s.textContent)});
  document.body.appendChild(out);
});</script></body>"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium offline (no network services, throwaway profile)."""
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--window-size=1200,2000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    build_synthetic_run(out / "run", rollouts=write_rollouts_file(out / "rollouts.jsonl"))
    locked = _locked_organism(out / "locked")
    return write_report(out / "run", out / "report.html", extra_flags={"locked organism": locked})


def test_verdict_and_figures_are_in_the_rendered_dom(report: Path, tmp_path: Path) -> None:
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("</body>", PROBE), encoding="utf-8")
    res = chromium("--dump-dom", probed.as_uri(), profile=tmp_path / "profile")
    found = re.search(r'<pre id="probe">(.*?)</pre>', res.stdout, re.S)
    assert found, f"no probe output from chromium (rc {res.returncode}): {res.stderr[-2000:]}"
    seen = json.loads(html_lib.unescape(found.group(1)))
    assert [i["alt"] for i in seen["images"]] == ["trajectories.png", "crossings.png", "exploration.png", "labels.png"]
    assert all(i["complete"] and i["width"] > 300 for i in seen["images"]), seen["images"]  # decoded PNGs
    assert seen["verdictRows"] == [["emerged", "rising"], ["", "flat"]]  # most concerning first, highlighted
    assert seen["verdictTop"] < seen["firstImageTop"]  # the verdict comes before any figure
    assert seen["provenanceRight"] <= seen["viewport"]  # provenance wrapped, not pushed off-screen
    assert any(s.startswith("Estimates (18 rows") for s in seen["folded"])  # the long table is folded
    dom = res.stdout
    assert dom.index('id="verdict"') < dom.index('id="trajectories"') < dom.index('id="exploration"')
    assert "locked organism" in dom and "subset 'trigger'" in dom


def test_screenshot_shows_the_highlighted_verdict(report: Path, tmp_path: Path) -> None:
    import matplotlib.image

    shot = tmp_path / "shot.png"
    res = chromium(f"--screenshot={shot}", report.as_uri(), profile=tmp_path / "profile")
    assert shot.is_file(), f"no screenshot (rc {res.returncode}): {res.stderr[-2000:]}"
    img = (matplotlib.image.imread(shot)[..., :3] * 255).astype(int)
    assert img.shape[:2] == (2000, 1200)

    def pixels(hex_color: str, rows: slice, tol: int = 6) -> int:
        rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
        return int((np.abs(img[rows] - rgb).max(axis=-1) < tol).sum())

    top = slice(0, 700)
    assert pixels("#fde2e1", top) > 5000  # the emerged row's background, above the first figure
    assert pixels("#fff3cd", top) > 5000  # the toy-world banner
    assert pixels("#d62728", slice(0, 2000), tol=30) > 100  # IS lines of the trajectory figure
