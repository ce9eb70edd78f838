"""Crashes and reruns: a run killed halfway leaves the previous outputs whole and the champions where they were;
the same input, config and seed give byte-identical outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from potential.config import Config
from potential.tracking.store import Tracker
from tests.cli_helpers import run_cli, tree_digest
from tests.conftest import make_tables, write_tables

AS_OF = "2025-06-01"
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
FAST = "training:\n  min_positives: 5\n  lightgbm: {n_estimators: 60}\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel")
    data = write_tables(root / "data", make_tables(150))
    config = root / "fast.yaml"
    config.write_text(FAST)
    done = subprocess.run(
        _run_command(data, root / "ws", config), capture_output=True, text=True, env=ENV, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return root, data, config


def _run_command(data: Path, ws: Path, config: Path, *extra: str) -> list[str]:
    """`potential run` in a child process (so a signal can be sent to it)."""
    return [
        sys.executable,
        "-m",
        "potential",
        "run",
        "--data",
        str(data),
        "--as-of",
        AS_OF,
        "--out",
        str(ws),
        "--config",
        str(config),
        *extra,
    ]


def _kill_when(args: list[str], marker: str) -> tuple[int, str]:
    """Start `args`, send SIGTERM once `marker` appears on stderr; return exit code and stderr."""
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
    seen = []
    deadline = time.monotonic() + 300
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            break
        if time.monotonic() > deadline:
            break
    rest = proc.communicate(timeout=120)[1]
    return proc.returncode, "".join(seen) + rest


@pytest.mark.parametrize(
    ("marker", "engine"),
    [
        ("training churn", "pandas"),
        ("logging runs", "pandas"),
        pytest.param("training churn", "dask", marks=pytest.mark.dask),
    ],
)
def test_killed_run_leaves_previous_outputs_and_champions(trained, marker, engine):
    root, data, config = trained
    ws = root / "ws"
    before_exports = tree_digest(ws / "exports")
    before_reports = tree_digest(ws / "reports")
    champions = {t: c.version for t, c in Tracker(ws, Config()).champions().items()}
    args = _run_command(data, ws, config, "--horizon-days", "60", "--engine", engine)
    code, err = _kill_when(args, marker)
    assert code == 130, err
    assert "Traceback" not in err
    assert "interrupted" in err
    assert tree_digest(ws / "exports") == before_exports
    assert tree_digest(ws / "reports") == before_reports
    assert {t: c.version for t, c in Tracker(ws, Config()).champions().items()} == champions
    assert not list(ws.rglob("*.tmp"))
    assert not [
        p for p in (ws / "exports").iterdir() if p.name.startswith(".")
    ]  # no temp or old part folders


@pytest.mark.parametrize("engine", ["pandas", pytest.param("dask", marks=pytest.mark.dask)])
def test_kill_while_writing_leaves_whole_files(trained, engine):
    """Killed after training, while scoring and writing: every output is either the old or the new file, whole."""
    root, data, config = trained
    ws = root / "ws"
    code, err = _kill_when(_run_command(data, ws, config, "--engine", engine), "scoring, explaining")
    # 130: stopped; 0 or -SIGTERM: the run had finished its work when the signal landed (during shutdown)
    assert code in (0, 130, -signal.SIGTERM), err
    assert "Traceback" not in err
    targets = pd.read_csv(ws / "exports" / "targets.csv")
    assert targets["rank"].tolist() == list(range(1, len(targets) + 1))
    pd.read_parquet(ws / "exports" / "explanations.parquet")
    assert (ws / "reports" / "index.html").read_text().rstrip().endswith("</html>")
    assert not list(ws.rglob("*.tmp"))
    assert not [
        p for p in (ws / "exports").iterdir() if p.name.startswith(".")
    ]  # no temp or old part folders


def test_same_input_same_bytes(trained, capsys, tmp_path):
    _, data, config = trained
    first, second = tmp_path / "first", tmp_path / "second"
    for ws in (first, second):
        code, _, err = run_cli(
            ["run", "--data", data, "--as-of", AS_OF, "--out", ws, "--config", config], capsys
        )
        assert code == 0, err
    for name in (
        "exports/targets.csv",
        "exports/explanations.parquet",
        "exports/rating.parquet",
        "exports/history.parquet",
        "exports/run.json",
        "reports/index.html",
    ):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    pages = sorted(p.name for p in (first / "reports" / "accounts").iterdir())
    assert pages == sorted(p.name for p in (second / "reports" / "accounts").iterdir())
    for page in pages[:5]:
        assert (first / "reports" / "accounts" / page).read_bytes() == (
            second / "reports" / "accounts" / page
        ).read_bytes()


def test_awkward_but_valid_inputs_run(tmp_path, capsys):
    """BOM + CRLF, hostile names, refunds, unknown accounts, prospects, extra columns, time zones, duplicates."""
    tables = make_tables(120)
    tx = tables["transactions"].copy()
    tx["date"] = tx["date"] + "T09:30:00+01:00"
    tx["notes"] = "extra column"
    tx = pd.concat([tx, tx.iloc[:3]], ignore_index=True)
    tx.loc[5, "amount"] = -abs(tx.loc[5, "amount"])
    acc = tables["accounts"].copy()
    acc.loc[0, "account_name"] = "<script>alert(1)</script>"
    acc.loc[1, "account_name"] = 'Smith, "Jones" & Co\nLtd'
    acc.loc[2, "account_name"] = "株式会社テスト"
    acc.loc[3, "account_name"] = '=HYPERLINK("http://evil")'
    acc = pd.concat(
        [
            acc,
            pd.DataFrame([{"account_id": "PROSPECT1", "account_name": "Prospect Ltd", "industry": "retail"}]),
        ],
        ignore_index=True,
    )
    tx = tx[tx["account_id"] != "C0005"]
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "transactions.csv").write_bytes(
        ("\ufeff" + tx.to_csv(index=False)).replace("\n", "\r\n").encode("utf-8")
    )
    acc[acc["account_id"] != "C0007"].to_csv(folder / "accounts.csv", index=False)
    tables["activities"].to_csv(folder / "activities.csv", index=False)
    config = tmp_path / "fast.yaml"
    config.write_text(FAST)
    code, out, err = run_cli(
        ["run", "--data", folder, "--as-of", AS_OF, "--out", tmp_path / "ws", "--config", config], capsys
    )
    assert code == 0, err + out
    targets = pd.read_csv(tmp_path / "ws" / "exports" / "targets.csv", dtype={"account_id": str})
    assert "PROSPECT1" in set(targets["account_id"])
    prospect = targets.set_index("account_id").loc["PROSPECT1"]
    assert prospect["action"] == "Nurture" and prospect["status"] == "prospect"
    assert targets.set_index("account_id").loc["C0003", "account_name"].startswith("'=")
    assert "C0007" in set(targets["account_id"])  # in transactions, not in accounts: kept
    assert "not in accounts" in out
    assert "duplicate" in out
