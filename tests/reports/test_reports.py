"""The managers' HTML reports: files, links, escaping, numbers, waterfalls, determinism."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from potential.reports import account_filename, pages, write_reports
from potential.reports import format as fmt

from .conftest import XSS_NAME

BAD_TOKENS = re.compile(r"\b(nan|NaN|None|NaT|inf|Infinity|undefined)\b")


class _Page(HTMLParser):
    """Visible text, hrefs and tag names of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("style", "title"):
            self._skip += 1
        self.hrefs += [v for k, v in attrs if k == "href" and v]

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def visible(path: Path) -> str:
    return " ".join(" ".join(parse(path).text).split())


def page_of(out: Path, account_id: str) -> Path:
    return out / "accounts" / account_filename(account_id)


# ------------------------------------------------------------------------------------------------ files and links
def test_writes_index_and_one_page_per_top_account(rendered):
    data, out, paths = rendered
    assert paths[0] == out / "index.html"
    assert sorted(paths[1:]) == sorted(page_of(out, a) for a in data.targets["account_id"])
    assert all(p.is_file() and p.stat().st_size > 2000 for p in paths)
    assert not list(out.rglob("*.tmp"))


def test_top_k_limits_pages_to_the_best_ranked(tmp_path, report_input):
    paths = write_reports(report_input, tmp_path, top_k=3)
    top3 = report_input.targets.nsmallest(3, "rank")["account_id"]
    assert sorted(p.name for p in paths[1:]) == sorted(account_filename(a) for a in top3)
    assert "Top 3 accounts" in visible(tmp_path / "index.html")
    assert len(write_reports(report_input, tmp_path / "none", top_k=0)) == 1


def test_every_link_resolves(rendered):
    _, out, paths = rendered
    index_links = parse(out / "index.html").hrefs
    assert len([h for h in index_links if h.startswith("accounts/")]) == len(paths) - 1
    for page in paths:
        for href in parse(page).hrefs:
            assert not href.startswith(("http:", "https:", "//")), href
            assert (page.parent / href).resolve().is_file(), f"{page.name} links to missing {href}"


@pytest.mark.parametrize(
    "ids",
    [
        ["ACME/1", "ACME_1", "ACME?1", "ACME 1"],
        ["CON", "con.x", "nul", "ok"],
        ["", ".", "..", "...hidden"],
        ["株式会社", "会社", "Ωmega", "Ω"],
        ["x" * 300, "x" * 301],
    ],
)
def test_account_filenames_are_safe_distinct_and_stable(ids):
    names = [account_filename(a) for a in ids]
    assert len(set(names)) == len(ids)
    assert len({n.lower() for n in names}) == len(ids) or ids[0] == "CON"
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+\.html", name), name
        assert not name.startswith(".") and len(name) <= 100
    assert names == [account_filename(a) for a in ids]
    assert account_filename("C001") == "C001.html"


def test_stale_pages_are_removed_only_after_the_new_ones_exist(tmp_path, report_input, monkeypatch):
    stale = tmp_path / "accounts" / "OLD-ACCOUNT.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    expected = [page_of(tmp_path, a) for a in report_input.targets["account_id"]]
    original = Path.unlink

    def checked_unlink(self, *args, **kwargs):
        if self.parent == tmp_path / "accounts" and self.suffix == ".html":
            assert all(p.exists() for p in expected) and (tmp_path / "index.html").exists()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", checked_unlink)
    write_reports(report_input, tmp_path)
    assert not stale.exists()
    assert all(p.exists() for p in expected)


# ------------------------------------------------------------------------------------------------ escaping and text
def test_hostile_names_are_escaped_text(rendered):
    data, out, paths = rendered
    for page in paths:
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html.lower()
        assert "<b>bold</b>" not in html and "<b>Bold</b>" not in html and "<i>energy" not in html
        assert "script" not in parse(page).tags
    xss = page_of(out, "C002")
    html = xss.read_text(encoding="utf-8")
    assert "&lt;script&gt;document.title=&#39;XSS&#39;&lt;/script&gt;" in html
    assert XSS_NAME in visible(xss)
    assert "Quote \"Co\" & Sons 'Ltd'" in visible(page_of(out, "C003"))
    assert "株式会社テスト" in visible(page_of(out, "C004"))
    assert "Comma, Inc. Second line" in visible(page_of(out, "C005"))
    assert "Ωmega Λtd <b>bold</b>" in visible(page_of(out, "ACME/1"))
    index = visible(out / "index.html")
    for name in ("株式会社テスト", XSS_NAME, "Ωmega Λtd <b>bold</b>"):
        assert name in index
    blank = visible(page_of(out, "a b?c"))
    assert "a b?c" in blank  # no name: the id stands in


def test_svg_text_is_escaped(rendered):
    _, out, _ = rendered
    html = page_of(out, "C001").read_text(encoding="utf-8")
    assert "&lt;b&gt;Bold&lt;/b&gt; feature &amp; more" in html or "Bold</b>" not in html


def test_no_nan_none_or_inf_on_any_page(tmp_path, make_report_input):
    for variant, data in {
        "full": make_report_input(previous=True),
        "no_expansion": make_report_input(expansion=False, history=False, currency=""),
    }.items():
        out = tmp_path / variant
        for page in write_reports(data, out):
            text = visible(page)
            assert not BAD_TOKENS.search(text), (page.name, BAD_TOKENS.search(text).group(0))
            html = page.read_text(encoding="utf-8")
            assert not re.search(r'="-?(nan|inf)"', html), page.name
            assert not BAD_TOKENS.search(re.sub(r"<[^>]+>", " ", html)), page.name


def test_pages_are_self_contained(rendered):
    _, _, paths = rendered
    for page in paths:
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<(script|link|img|iframe)\b", html, re.IGNORECASE)
        assert "@import" not in html and "url(" not in html
        assert re.findall(r"https?://[^\s\"')]+", html) in (
            [],
            ["http://www.w3.org/2000/svg"] * html.count("<svg"),
        )
        assert "@media print" in html and '<meta charset="utf-8">' in html


# ------------------------------------------------------------------------------------------------ numbers
def test_account_page_shows_the_targets_row(rendered):
    data, out, _ = rendered
    for row in data.targets.to_dict("records"):
        text = visible(page_of(out, row["account_id"]))
        assert f"#{row['rank']}" in text
        assert f"Tier {row['tier']}" in text and row["action"] in text
        assert f"{row['rating_score']:.1f}" in text
        assert fmt.money(row["revenue_at_risk"], "€") in text
        assert row["account_id"] in text
        if row["is_prospect"]:
            assert "prospect" in text.lower()
            continue
        assert f"{row['churn_probability'] * 100:.1f}%" in text
        assert f"{row['expansion_probability'] * 100:.1f}%" in text
        assert fmt.money(row["expected_uplift"], "€") in text
        band = (
            "low"
            if row["churn_probability"] < 0.2
            else "medium"
            if row["churn_probability"] < 0.5
            else "high"
        )
        assert f"{band} · within 90 days" in text


def test_index_shows_counts_model_card_and_top_table(rendered):
    data, out, _ = rendered
    text = visible(out / "index.html")
    t = data.targets
    for action in ("Save", "Grow", "Nurture", "Maintain"):
        assert f"{action} {int((t['action'] == action).sum())}" in text
    share = t.loc[t["tier"] == "A", "priority_score"].sum() / t["priority_score"].sum()
    assert f"holds {share * 100:.0f}% of the total priority" in text
    assert "0.830" in text and "baseline: logistic" in text and "baseline: recency rule" in text
    assert "What the model adds: ROC-AUC 0.830 vs 0.780" in text
    # the model in use, by its label; a card written before labels were recorded names LightGBM
    assert "LightGBM + logistic regression (in use)" in text and "LightGBM (in use)" in text
    assert "as of 2026-08-01" in text and "churn v3" in text and "expansion v2" in text
    first = t.iloc[0]
    assert f"{first['churn_probability'] * 100:.1f}%" in text
    assert text.count("<svg") == 0 and (out / "index.html").read_text().count("<svg") == 4


def test_money_formatting_and_missing_values():
    assert fmt.money(1234567.891, "€") == "€1,234,568"
    assert fmt.money(-1200.4, "$") == "-$1,200"
    assert fmt.money(-0.2) == "0"
    assert fmt.percent(0.88889) == "88.9%" and fmt.percent(-0.00001) == "0.0%"
    assert (
        fmt.points(0.123) == "+12.3 pts"
        and fmt.points(-0.0001) == "+0.0 pts"
        and fmt.points(-0.05) == "-5.0 pts"
    )
    for value in (None, np.nan, float("inf"), -np.inf, pd.NA, pd.NaT, "nan", "None", ""):
        assert fmt.missing(value)
        assert fmt.money(value) == fmt.percent(value) == fmt.number(value) == fmt.text(value) == "—"
    assert (
        fmt.band(0.19) == "low"
        and fmt.band(0.2) == "medium"
        and fmt.band(0.5) == "high"
        and fmt.band(None) == ""
    )
    assert (
        fmt.money_short(1_250_000, "€") == "€1.2M"
        and fmt.money_short(12_000) == "12k"
        and fmt.money_short(950) == "950"
    )


# ------------------------------------------------------------------------------------------------ waterfall
def _drivers(expl: pd.DataFrame, account: str, target: str):
    rows = expl[(expl["account_id"] == account) & (expl["target"] == target)]
    return float(rows["base"].iloc[0]), [
        (f, float(c), float(v))
        for f, c, v in zip(rows["feature"], rows["contribution"], rows["value"], strict=True)
    ]


def test_waterfall_runs_from_base_to_the_probability(report_input):
    t = report_input.targets.set_index("account_id")
    for target in ("churn", "expansion"):
        view = pages.waterfall_view(
            "C001",
            target,
            _drivers(report_input.explanations, "C001", target),
            {},
            report_input.feature_text,
            t.loc["C001", f"{target}_probability"],
        )
        assert view["total"] == pytest.approx(t.loc["C001", f"{target}_probability"], abs=1e-9)
        assert len(view["drivers"]) == pages.TOP_DRIVERS
        points = [abs(float(d["points"].split()[0])) for d in view["drivers"]]
        assert points == sorted(points, reverse=True)  # biggest drivers first
        svg = str(view["svg"])
        assert "other factors together" in svg and "This account" in svg and "Portfolio average" in svg
        assert f"{t.loc['C001', f'{target}_probability'] * 100:.1f}%" in svg
        assert re.search(r"[+-]\d+\.\d pts", svg)


def test_waterfall_labels_use_phrases_then_feature_text(rendered):
    _, out, _ = rendered
    html = page_of(out, "C001").read_text(encoding="utf-8")
    assert "Spend fell 38% vs the previous quarter" in html
    assert "Feature f01 described" in html or "Feature f02 described" in html


def test_waterfall_shows_a_gap_instead_of_hiding_it(report_input):
    base, drivers = _drivers(report_input.explanations, "C001", "churn")
    view = pages.waterfall_view("C001", "churn", (base, drivers), {}, {}, 0.99)
    assert "Not explained by the factors" in str(view["svg"])
    assert view["total"] == pytest.approx(0.99)
    assert pages.waterfall_view("C001", "churn", None, {}, {}, 0.5) is None
    assert pages.waterfall_view("C001", "churn", (base, drivers), {}, {}, float("nan")) is None


def test_the_chart_of_the_target_the_reasons_lead_with_comes_first(tmp_path, make_report_input):
    data = make_report_input()
    data.targets["reason_1_target"] = np.where(data.targets["account_id"] == "C002", "expansion", "churn")
    write_reports(data, tmp_path)
    titles = ("Churn risk — portfolio average", "Expansion likelihood — portfolio average")
    for account, first in (("C001", 0), ("C002", 1)):
        page = visible(page_of(tmp_path, account))
        positions = [page.index(title) for title in titles]
        assert positions[first] == min(positions), account


# ------------------------------------------------------------------------------------------------ variants
def test_expansion_not_modelled(tmp_path, make_report_input):
    data = make_report_input(expansion=False)
    paths = write_reports(data, tmp_path)
    page = visible(page_of(tmp_path, "C001"))
    assert "not modelled" in page
    assert "Expansion likelihood — portfolio average" not in page and "Churn risk — portfolio average" in page
    index = visible(tmp_path / "index.html")
    assert (
        "Expansion is not modelled in this run" in index
        and "expansion not modelled: no transactions" in index
    )
    assert "Uplift" not in index
    assert all(not BAD_TOKENS.search(visible(p)) for p in paths)


def test_prospect_page_explains_missing_scores(rendered):
    _, out, _ = rendered
    text = visible(page_of(out, "C007"))
    assert "not scored: a prospect without purchase history" in text
    assert "No model explanation for this account" in text


def test_history_and_rating_sections(rendered, tmp_path, make_report_input):
    data, out, _ = rendered
    html = page_of(out, "C001").read_text(encoding="utf-8")
    assert html.count("<rect") > 24 and "Aug 2024 – Jul 2026" in visible(page_of(out, "C001"))
    h = data.history[data.history["account_id"] == "C001"]
    assert fmt.money(h["spend"].iloc[-12:].sum(), "€") in visible(page_of(out, "C001"))
    text = visible(page_of(out, "C001"))  # C001 is account index 0: its culture_fit is unknown
    assert "1 of 5 criteria unknown" in text and "Culture fit" in text
    r = data.rating[data.rating["account_id"] == "C001"]
    assert f"= 50 + {r['points'].sum():+.1f} points" in text
    write_reports(make_report_input(history=False), tmp_path)
    assert "No monthly history was provided" in visible(page_of(tmp_path, "C001"))


def test_what_changed_against_the_previous_run(tmp_path, make_report_input):
    data = make_report_input(previous=True)
    write_reports(data, tmp_path)
    text = visible(tmp_path / "index.html")
    assert "What changed since the previous run" in text
    assert "Quote \"Co\" & Sons 'Ltd' new at #3" in text
    assert "New on the list: 1 · dropped off the list: 1" in text
    assert "→" in text and "▲" in text and "▼" in text
    assert "new on the list since the last run" in visible(page_of(tmp_path, "C003"))


def test_output_is_byte_identical_on_rerender(tmp_path, make_report_input):
    first = write_reports(make_report_input(previous=True), tmp_path / "a")
    second = write_reports(make_report_input(previous=True), tmp_path / "b")
    again = write_reports(make_report_input(previous=True), tmp_path / "a")
    assert [p.name for p in first] == [p.name for p in second] == [p.name for p in again]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    shuffled = make_report_input(previous=True)
    shuffled = type(shuffled)(
        **{
            **shuffled.__dict__,
            "targets": shuffled.targets.sample(frac=1, random_state=3),
            "explanations": shuffled.explanations.sample(frac=1, random_state=3),
        }
    )
    third = write_reports(shuffled, tmp_path / "c")
    for a, c in zip(first, third, strict=True):
        assert a.read_bytes() == c.read_bytes(), a.name


def test_every_account_up_to_top_k_gets_its_own_page(tmp_path, make_report_input):
    data = make_report_input(n=120)
    paths = write_reports(data, tmp_path, top_k=500)
    assert len(paths) == 121
    for account in data.targets["account_id"]:
        assert account in visible(page_of(tmp_path, account))


def test_a_sparse_model_card_still_reads_well(tmp_path, make_report_input):
    data = make_report_input()
    data = type(data)(**{**data.__dict__, "model_card": {}})  # no horizon, no models, no digests
    paths = write_reports(data, tmp_path)
    index = visible(tmp_path / "index.html")
    assert "rating profile only" in index and "No trained models in this run" in index
    page = visible(page_of(tmp_path, "C001"))
    assert "over the forecast horizon" in page and "— days" not in page
    assert all(not BAD_TOKENS.search(visible(p)) for p in paths)


def test_percent_axis_labels_carry_the_decimals_their_step_needs():
    from potential.reports.charts import _percent_labels

    assert _percent_labels([0.0, 0.005, 0.01, 0.015]) == ["0.0%", "0.5%", "1.0%", "1.5%"]  # not 0% 0% 1% 2%
    assert _percent_labels([0.0, 0.25, 0.5]) == ["0%", "25%", "50%"]
