"""Score history and the CRM delta: a workspace ranked at three as-ofs."""

from __future__ import annotations

import pandas as pd
import pytest

from potential.export.history import history_as_ofs, read_history
from tests.cli_helpers import cli_ok, run_cli

DATES = ("2025-02-01", "2025-04-01", "2025-06-01")


@pytest.fixture(scope="module")
def ranked_three_times(tmp_path_factory):
    from tests.conftest import make_tables, write_tables

    root = tmp_path_factory.mktemp("history")
    data = write_tables(root / "data", make_tables())
    ws = root / "ws"
    cli_ok("train", "--data", data, "--as-of", DATES[-1], "--out", ws)
    for day in DATES:
        cli_ok("rank", "--data", data, "--as-of", day, "--out", ws)
        (ws / f"changes-{day}.csv").write_bytes((ws / "exports" / "changes.csv").read_bytes())
    return data, ws


def test_every_rank_adds_its_as_of_and_a_rerun_replaces_it(ranked_three_times, capsys):
    data, ws = ranked_three_times
    assert history_as_ofs(ws) == list(DATES)
    before = read_history(ws, DATES[1])
    code, _, err = run_cli(["rank", "--data", data, "--as-of", DATES[1], "--out", ws, "--top", "5"], capsys)
    assert code == 0, err
    assert history_as_ofs(ws) == list(DATES)  # replaced, not duplicated
    again = read_history(ws, DATES[1])
    pd.testing.assert_frame_equal(before, again)  # the whole list is kept, whatever --top exported
    history = read_history(ws)
    assert len(history) == 3 * len(before) and not history.duplicated(["as_of", "account_id"]).any()


def test_changes_list_only_what_moved_with_the_previous_values(ranked_three_times):
    _, ws = ranked_three_times
    first = pd.read_csv(ws / f"changes-{DATES[0]}.csv")
    assert len(first) == 0 and "previous_tier" in first.columns  # nothing earlier to compare with
    changes = pd.read_csv(ws / f"changes-{DATES[2]}.csv", dtype={"account_id": str})
    previous = read_history(ws, DATES[1]).set_index("account_id")
    current = read_history(ws, DATES[2]).set_index("account_id")
    assert len(changes) and set(changes["previous_as_of"]) == {DATES[1]}
    for row in changes.itertuples():
        before, now = previous.loc[row.account_id], current.loc[row.account_id]
        assert row.previous_tier == before["tier"] and row.tier == now["tier"]
        moved = abs(now["priority_score"] - before["priority_score"]) > 0.25 * abs(before["priority_score"])
        assert before["tier"] != now["tier"] or before["action"] != now["action"] or moved
    unchanged = current.index.difference(changes["account_id"])
    for account in unchanged:
        before, now = previous.loc[account], current.loc[account]
        assert before["tier"] == now["tier"] and before["action"] == now["action"]
