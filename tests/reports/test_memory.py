"""The report's memory of earlier lists: score history chart, the model/data split, moved drivers, and the
portfolio's new tier-A accounts, newly-Save accounts and largest movers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from potential.reports import charts, memory, write_reports
from potential.reports import format as fmt

from .conftest import AS_OF, build_report_input
from .memory_input import DATES, NEW_ACCOUNT, OLD_MODELS, with_memory
from .test_reports import BAD_TOKENS, page_of, visible


def _svg(html: str, label: str) -> str:
    match = re.search(rf'<svg[^>]*aria-label="{label}[^"]*".*?</svg>', html, re.DOTALL)
    assert match, f"no chart labelled {label!r}"
    return match.group(0)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data = with_memory()
    out = tmp_path_factory.mktemp("memory") / "reports"
    write_reports(data, out)
    return data, out


# ------------------------------------------------------------------------------------------------ the split
def test_split_parts_add_up_and_the_model_part_is_zero_without_a_new_model():
    total, model, data = memory.split_parts(0.40, 0.10, 0.25, same_model=False)
    assert (total, model, data) == pytest.approx((0.30, 0.15, 0.15))
    assert memory.split_parts(0.40, 0.10, 0.99, same_model=True) == pytest.approx((0.30, 0.0, 0.30))
    assert memory.split_parts(0.40, 0.10, None, same_model=False) == (pytest.approx(0.30), None, None)
    assert memory.split_parts(0.40, None, 0.25, same_model=False) == (None, None, None)


def test_account_page_splits_each_change_into_model_and_data(site):
    data, out = site
    history = data.score_history
    now = history[history["as_of"] == AS_OF].set_index("account_id").loc["C001"]
    before = history[history["as_of"] == DATES[1]].set_index("account_id").loc["C001"]
    text = visible(page_of(out, "C001"))
    assert f"What changed since {DATES[1]}" in text
    assert "The models changed (churn v2 · expansion v2 → churn v3 · expansion v2)" in text
    for score in ("expansion_probability", "churn_probability"):
        model = now[score] - now[f"{score}_previous_model"]
        data_part = now[f"{score}_previous_model"] - before[score]
        assert abs(model + data_part - (now[score] - before[score])) < 1e-9
        assert f"{fmt.percent(before[score])} → {fmt.percent(now[score])}" in text
        assert f"new model {fmt.points(model)} · new data {fmt.points(data_part)}" in text
    model = now["priority_score"] - now["priority_score_previous_model"]
    data_part = now["priority_score_previous_model"] - before["priority_score"]
    assert f"new model {model:+,.0f} · new data {data_part:+,.0f}" in text


def test_same_models_put_the_whole_change_on_the_data(make_report_input, tmp_path):
    data = with_memory(make_report_input())
    history = data.score_history.copy()
    history.loc[history["as_of"] == DATES[1], "model_version"] = data.targets["model_version"].iloc[0]
    write_reports(_replace(data, score_history=history), tmp_path)
    text = visible(page_of(tmp_path, "C001"))
    now = history[history["as_of"] == AS_OF].set_index("account_id").loc["C001"]
    before = history[history["as_of"] == DATES[1]].set_index("account_id").loc["C001"]
    total = now["churn_probability"] - before["churn_probability"]
    assert "Same models as on" in text and "the whole change comes from new data" in text
    assert f"new model {fmt.points(0.0)} · new data {fmt.points(total)}" in text


def test_a_model_that_could_not_be_loaded_is_said_not_hidden(make_report_input, tmp_path):
    data = with_memory(make_report_input())
    history = data.score_history.copy()
    current = history["as_of"] == AS_OF
    reason = "the models of the list of 2026-05-01 (churn:v2;expansion:v2) could not be loaded"
    history.loc[current, "previous_model_note"] = reason
    for score in ("expansion_probability", "churn_probability", "priority_score"):
        history.loc[current, f"{score}_previous_model"] = np.nan
    write_reports(_replace(data, score_history=history), tmp_path)
    text = visible(page_of(tmp_path, "C001"))
    assert reason in text and "new model" not in text
    assert not BAD_TOKENS.search(text)


def test_a_list_ranked_again_later_does_not_pass_for_the_split(make_report_input, tmp_path):
    data = with_memory(make_report_input())
    history = data.score_history.copy()
    history.loc[history["as_of"] == DATES[1], "model_version"] = "churn:v1;expansion:v1"
    write_reports(_replace(data, score_history=history), tmp_path)
    text = visible(page_of(tmp_path, "C001"))
    assert "was ranked again after this one" in text and "new model" not in text


def test_first_list_and_new_account_say_there_is_nothing_to_compare(make_report_input, tmp_path):
    write_reports(with_memory(make_report_input(), one_list=True), tmp_path / "one")
    text = visible(page_of(tmp_path / "one", "C001"))
    assert "there is no earlier list to compare with" in text
    assert "Only one list is stored so far" in text
    assert "<svg" not in _section(page_of(tmp_path / "one", "C001").read_text(encoding="utf-8"))
    index = visible(tmp_path / "one" / "index.html")
    assert "This is the first list in this workspace's history" in index
    write_reports(with_memory(make_report_input()), tmp_path / "three")
    assert f"Not on the list of {DATES[1]}: new to the list since then" in visible(
        page_of(tmp_path / "three", NEW_ACCOUNT)
    )


def _section(html: str) -> str:
    return html[html.index('id="memory"') : html.index("What drives the scores")]


def _replace(data, **changes):
    import dataclasses

    return dataclasses.replace(data, **changes)


# ------------------------------------------------------------------------------------------------ history chart
def test_score_history_chart_has_one_point_per_stored_list(site):
    data, out = site
    html = page_of(out, "C001").read_text(encoding="utf-8")
    chart = _svg(html, "Score history")
    rows = data.score_history.set_index(["account_id", "as_of"]).loc["C001"]
    tips = re.findall(r"<title>(\d{4}-\d{2}-\d{2}): expansion ([\d.]+)%, churn ([\d.]+)%", chart)
    assert [t[0] for t in tips] == list(DATES)
    for day, expand, churn in tips:
        assert float(expand) == pytest.approx(rows.loc[day, "expansion_probability"] * 100, abs=0.05)
        assert float(churn) == pytest.approx(rows.loc[day, "churn_probability"] * 100, abs=0.05)
    assert chart.count("<circle") == 3 * len(DATES)  # expansion, churn and priority at each as-of
    assert "1 Feb 2026" in chart and "1 Aug 2026" in chart


def test_score_history_breaks_a_line_where_an_account_was_not_scored():
    svg = charts.score_history(list(DATES), [0.1, None, 0.3], [0.2, 0.25, 0.3], [100.0, 200.0, 300.0])
    assert svg.count("<polyline") == 2  # churn and priority; expansion has no two neighbouring points
    assert svg.count("<circle") == 8
    assert "expansion —, churn 25.0%" in svg


# ------------------------------------------------------------------------------------------------ moved drivers
def test_drivers_that_moved_most_lead_with_the_largest_move(site):
    data, out = site
    text = visible(page_of(out, "C001"))
    assert "Drivers that moved most" in text
    # the fixture moved f01 by 8 points for every account and target: it leads both lists
    label = data.feature_text["f01"]
    now = data.explanations.set_index(["account_id", "target", "feature"]).loc[("C001", "churn", "f01")]
    move = (
        f"{fmt.points(now['contribution'] - 0.08)} → {fmt.points(now['contribution'])} ({fmt.points(0.08)})"
    )
    assert text.count(label) >= 2 and move in text


# ------------------------------------------------------------------------------------------------ portfolio page
def _list_items(html: str, box: str) -> list[str]:
    section = html[html.index(f'id="{box}"') :]
    section = section[: section.index("</div>")]
    return re.findall(r'data-account="([^"]+)"', section)


def test_portfolio_lists_match_the_stored_lists(site):
    data, out = site
    history = data.score_history
    now = history[history["as_of"] == AS_OF].set_index("account_id")
    before = history[history["as_of"] == DATES[1]].set_index("account_id")
    was = before.reindex(now.index)
    ordered = now.sort_values("rank").index
    new_tier = [a for a in ordered if now.at[a, "tier"] == "A" and was.at[a, "tier"] != "A"]
    new_save = [a for a in ordered if now.at[a, "action"] == "Save" and was.at[a, "action"] != "Save"]
    delta = (now["priority_score"] - before["priority_score"]).dropna()
    movers = sorted(delta[delta != 0].index, key=lambda a: (-abs(delta[a]), a))[: memory.MOVERS_LIMIT]
    html = (out / "index.html").read_text(encoding="utf-8")
    assert new_tier and new_save and movers
    assert NEW_ACCOUNT in new_tier or now.at[NEW_ACCOUNT, "tier"] != "A"
    assert _list_items(html, "new-tier") == new_tier
    assert _list_items(html, "newly-save") == new_save
    assert _list_items(html, "largest-movers") == movers
    text = visible(out / "index.html")
    top = movers[0]
    assert f"priority {before.at[top, 'priority_score']:,.0f} → {now.at[top, 'priority_score']:,.0f}" in text
    assert f"What changed since {DATES[1]}" in text


def test_portfolio_lists_link_only_to_written_pages(tmp_path):
    data = with_memory()
    write_reports(data, tmp_path, top_k=4)
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    section = html[html.index('id="largest-movers"') :]
    section = section[: section.index("</section>")]
    links = re.findall(r'href="(accounts/[^"]+)"', section)
    assert all((tmp_path / link).is_file() for link in links)


def test_without_a_history_the_pages_are_as_before(tmp_path):
    write_reports(build_report_input(previous=True), tmp_path)
    assert "What changed since the previous run" in visible(tmp_path / "index.html")
    assert "Score history" not in visible(page_of(tmp_path, "C001"))


def test_memory_pages_have_no_nan_and_render_the_same_twice(tmp_path):
    first = write_reports(with_memory(), tmp_path / "a")
    second = write_reports(with_memory(), tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    for page in first:
        assert not BAD_TOKENS.search(visible(page)), page.name


def test_lists_are_built_from_the_as_ofs_up_to_the_report(site):
    data, _ = site
    lists = memory.build_lists(data.score_history, DATES[1], {"C001"})
    assert lists is not None and lists.as_of == DATES[1] and lists.previous_as_of == DATES[0]
    assert [p[0] for p in lists.series["C001"]] == list(DATES[:2])
    assert memory.build_lists(data.score_history, "2025-01-01", {"C001"}) is None
    assert memory.build_lists(pd.DataFrame(), AS_OF, {"C001"}) is None
    assert OLD_MODELS in set(data.score_history["model_version"])
