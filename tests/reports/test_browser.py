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
