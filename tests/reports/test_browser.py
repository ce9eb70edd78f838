"""The pages as a browser renders them: headless Chromium dumps the DOM after scripts would have run."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from potential.reports import account_filename, write_reports

from .conftest import XSS_NAME, build_report_input

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="headless browser tests need /usr/bin/chromium (apt-get install chromium)",
    ),
]
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
    "--mute-audio",
]


def chromium(profile: Path, *args: str, timeout: int = 60) -> str:
    result = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("browser")
    data = build_report_input(previous=True)
    write_reports(data, root / "reports")
    return root / "reports", root / "profile"


def _title(dom: str) -> str:
    match = re.search(r"<title>(.*?)</title>", dom, re.DOTALL)
    return match.group(1) if match else ""


def test_a_script_in_a_page_would_run_here(tmp_path):
    """Control: the harness does execute scripts, so the escaping test below means something."""
    page = tmp_path / "control.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><title>safe</title></head><body>{XSS_NAME}</body></html>",
        encoding="utf-8",
    )
    dom = chromium(tmp_path / "profile", "--dump-dom", page.as_uri())
    assert _title(dom) == "XSS"


def test_account_page_renders_its_numbers_and_no_injected_script(site):
    out, profile = site
    data = build_report_input(previous=True)
    row = data.targets.set_index("account_id").loc["C002"]
    dom = chromium(profile, "--dump-dom", (out / "accounts" / account_filename("C002")).as_uri())
    title = _title(dom)
    assert title != "XSS" and title.startswith("#2 ")
    assert "&lt;script&gt;document.title='XSS'&lt;/script&gt;" in dom
    assert "<script" not in dom.lower()
    text = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "", dom, flags=re.DOTALL))
    )
    assert "C002" in text and "#2 of 14" in text
    assert f"{row['churn_probability'] * 100:.1f}%" in text
    assert f"{row['expansion_probability'] * 100:.1f}%" in text
    assert not re.search(r"\b(nan|NaN|None|NaT|undefined|inf)\b", text)


def test_index_renders_the_top_table_with_working_links(site):
    out, profile = site
    dom = chromium(profile, "--dump-dom", (out / "index.html").as_uri())
    assert _title(dom).startswith("Target accounts")
    links = re.findall(r'href="(accounts/[^"]+)"', dom)
    assert len(set(links)) == 14
    assert all((out / link).is_file() for link in links)
    assert "株式会社テスト" in dom and "<script" not in dom.lower()
    assert dom.count("<svg") == 4


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_screenshots_of_index_and_account_page(site, tmp_path):
    out, profile = site
    for name, page in (
        ("index", out / "index.html"),
        ("account", out / "accounts" / account_filename("C001")),
    ):
        png = tmp_path / f"{name}.png"
        chromium(profile, f"--screenshot={png}", "--window-size=1280,2000", page.as_uri())
        assert png.is_file() and png.stat().st_size > 30_000, f"{name}: screenshot looks empty"
        assert _png_size(png) == (1280, 2000)


# ------------------------------------------------------------------------------------------- memory sections
@pytest.fixture(scope="module")
def memory_site(tmp_path_factory) -> tuple[Path, Path]:
    from .memory_input import with_memory

    root = tmp_path_factory.mktemp("browser-memory")
    write_reports(with_memory(), root / "reports")
    return root / "reports", root / "profile"


def test_score_history_and_what_changed_render_on_the_account_page(memory_site):
    from .memory_input import DATES

    out, profile = memory_site
    dom = chromium(profile, "--dump-dom", (out / "accounts" / account_filename("C001")).as_uri())
    chart = re.search(r'<svg[^>]*aria-label="Score history.*?</svg>', dom, re.DOTALL)
    assert chart is not None and chart.group(0).count("<polyline") == 3
    assert re.findall(r"<title>(\d{4}-\d{2}-\d{2}):", chart.group(0)) == list(DATES)
    text = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(style|svg).*?</\1>", "", dom, flags=re.DOTALL))
    )
    assert f"What changed since {DATES[1]}" in text and "new model" in text and "new data" in text
    assert "Drivers that moved most" in text
    assert not re.search(r"\b(nan|NaN|None|NaT|undefined|inf)\b", text)


def test_changes_and_segments_render_on_the_index(memory_site):
    out, profile = memory_site
    dom = chromium(profile, "--dump-dom", (out / "index.html").as_uri())
    for box in ("new-tier", "newly-save", "largest-movers"):
        part = dom[dom.index(f'id="{box}"') :]
        assert re.search(r'data-account="[^"]+"', part[: part.index("</div>")]), box
    assert dom.count('class="segments"') == 3 and dom.count("<svg") == 4
    assert "By size band" in dom and "Churn, list of 2026-02-01" in dom


def _widths(profile: Path, page: Path, width: int) -> tuple[int, int, int, int]:
    """(document scroll width, window width, memory section scroll width, its client width) as laid out."""
    probe = page.with_name("probe-" + page.name)
    script = (
        "<script>var m = document.getElementById('memory') || document.getElementById('new-tier');"
        "document.title = [document.documentElement.scrollWidth, window.innerWidth,"
        " m.scrollWidth, m.clientWidth].join(',');</script></body>"
    )
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", script), encoding="utf-8")
    try:
        dom = chromium(profile, f"--window-size={width},1200", "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    numbers = re.search(r"<title>(\d+),(\d+),(\d+),(\d+)</title>", dom)
    assert numbers, "the probe did not run"
    doc, window, scroll, client = (int(n) for n in numbers.groups())
    return doc, window, scroll, client


@pytest.mark.parametrize("width", [500, 1280])
def test_memory_sections_fit_narrow_and_wide_windows(memory_site, width):
    out, profile = memory_site
    for page in (out / "accounts" / account_filename("C001"), out / "index.html"):
        doc, window, scroll, client = _widths(profile, page, width)
        assert doc <= window, f"{page.name} scrolls sideways at {width}px"
        assert scroll <= client, f"{page.name}: the new section overflows at {width}px"
