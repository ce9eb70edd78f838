"""Commands end to end through the CLI: every export format completes, on either engine."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.cli_helpers import run_cli

AS_OF = "2025-06-01"


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_run_with_each_export_format_writes_the_report_from_that_file(data_dir, tmp_path, capsys, fmt):
    ws = tmp_path / "ws"
    code, out, err = run_cli(
        ["run", "--data", data_dir, "--as-of", AS_OF, "--out", ws, "--format", fmt], capsys
    )
    assert code == 0, err
    exports = ws / "exports"
    assert not (exports / "targets.csv").exists()
    manifest = json.loads((exports / "manifest.json").read_text())
    assert manifest["targets"] == f"targets.{fmt}" and manifest["format"] == fmt
    if fmt == "xlsx":
        listed = pd.read_excel(exports / "targets.xlsx", sheet_name="targets", dtype={"account_id": str})
    else:
        listed = pd.read_parquet(exports / "targets.parquet")
    top = listed.iloc[0]
    page = (ws / "reports" / "index.html").read_text(encoding="utf-8")
    assert str(top["account_id"]) in page
    assert (ws / "reports" / "accounts").is_dir()


def test_report_without_a_manifest_says_which_command_to_run(tmp_path, capsys):
    (tmp_path / "ws" / "exports").mkdir(parents=True)
    (tmp_path / "ws" / "exports" / "targets.csv").write_text("rank,account_id\n1,a\n")
    code, _, err = run_cli(["report", "--out", tmp_path / "ws"], capsys)
    assert code == 2
    assert "manifest.json" in err and "potential rank" in err


def test_engine_named_in_the_working_directorys_config_is_used(data_dir, tmp_path, capsys, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "default.yaml").write_text("engine: dask\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["validate", "--data", data_dir], capsys)
    assert code == 0, err
    assert "valid" in out


@pytest.mark.dask
def test_every_command_runs_on_the_dask_engine(data_dir, tmp_path, capsys, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "default.yaml").write_text("engine: {kind: dask, workers: 2}\n")
    monkeypatch.chdir(tmp_path)
    ws = tmp_path / "ws"
    steps = [
        ["validate", "--data", data_dir],
        ["features", "--data", data_dir, "--as-of", AS_OF, "--out", tmp_path / "f.csv", "--audit"],
        ["train", "--data", data_dir, "--as-of", AS_OF, "--out", ws],
        ["rank", "--data", data_dir, "--as-of", AS_OF, "--out", ws, "--format", "xlsx"],
        ["report", "--out", ws],
        ["run", "--data", data_dir, "--as-of", AS_OF, "--out", ws, "--format", "parquet"],
        ["demo", "--out", tmp_path / "demo", "--accounts", "150", "--months", "24"],
    ]
    for args in steps:
        code, out, err = run_cli(args, capsys)
        assert code == 0, (args, err)
        if "--audit" in args:
            assert "leakage audit" in out and "time travel" in out
    assert (tmp_path / "demo" / "reports" / "index.html").exists()
