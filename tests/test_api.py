"""The Python API: `import potential` stays cheap, DataFrames are validated like files, the notebook example runs."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from potential.config import Config
from potential.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def test_import_potential_loads_nothing_heavy():
    code = (
        "import sys, potential; "
        "heavy = [m for m in ('pandas', 'mlflow', 'lightgbm', 'potential.api', 'potential.config') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_api_names_resolve_lazily():
    import potential
    import potential.api

    for name in (
        "load_config",
        "load_dataset",
        "build_features",
        "train",
        "rank",
        "explain",
        "model_versions",
    ):
        assert getattr(potential, name) is getattr(potential.api, name)
        assert getattr(potential.api, name).__doc__
        assert name in dir(potential)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = potential.nope


def frames() -> dict[str, pd.DataFrame]:
    from tests.conftest import make_tables

    return make_tables(n_accounts=30, days=400)


def test_frames_give_the_same_dataset_as_their_folder(tmp_path):
    import potential
    from tests.conftest import write_tables

    tables = frames()
    before = {k: v.copy() for k, v in tables.items()}
    from_frames = potential.load_dataset(tables)
    from_folder = potential.load_dataset(write_tables(tmp_path / "data", tables))
    for name in ("accounts", "transactions", "activities"):
        pd.testing.assert_frame_equal(
            getattr(from_frames, name), getattr(from_folder, name), check_dtype=False
        )
        pd.testing.assert_frame_equal(tables[name], before[name])  # the caller's frames are untouched
    assert set(from_frames.digests) == {"accounts", "transactions", "activities"}


def test_frames_are_refused_with_the_rules_of_files():
    import potential

    tables = frames()
    bad = tables["transactions"].astype({"amount": object})
    bad.loc[3, "amount"] = "n/a"
    with pytest.raises(InputError, match="amount"):
        potential.load_dataset({**tables, "transactions": bad})
    with pytest.raises(InputError, match="unknown table name.*'orders'"):
        potential.load_dataset({"orders": tables["transactions"]})
    renamed = tables["transactions"].rename(columns={"amount": "net_value"})
    config = Config().with_overrides({"data.columns": {"transactions": {"amount": "net_value"}}})
    assert "amount" in potential.load_dataset({"transactions": renamed}, config).transactions.columns
    with pytest.raises(InputError, match="pandas engine"):
        potential.load_dataset(tables, Config().with_overrides({"engine.kind": "dask"}))


def test_build_features_matches_the_features_command(tmp_path, capsys):
    import potential
    from tests.cli_helpers import run_cli
    from tests.conftest import write_tables

    tables = frames()
    folder = write_tables(tmp_path / "data", tables)
    code, _, err = run_cli(
        ["features", "--data", folder, "--as-of", "2024-01-15", "--out", tmp_path / "f.parquet"], capsys
    )
    assert code == 0, err
    written = pd.read_parquet(tmp_path / "f.parquet")
    built = potential.build_features(tables, "2024-01-15")
    assert list(built.columns) == list(written.columns)
    pd.testing.assert_frame_equal(built, written, check_dtype=False, check_categorical=False)


def test_notebook_example_runs(tmp_path):
    """examples/notebook_api.py end to end: DataFrames in; list, explanations and the MLflow model agree."""
    example = runpy.run_path(str(ROOT / "examples" / "notebook_api.py"), run_name="example")
    out = example["main"](tmp_path)
    targets = out["ranked"].targets.set_index("account_id")
    assert len(targets) == 300
    listed = targets["churn_probability"].dropna()
    scores = pd.Series(
        out["mlflow_scores"]["churn_probability"].to_numpy(), index=out["features"]["account_id"].astype(str)
    )
    np.testing.assert_allclose(scores.reindex(listed.index), listed, atol=1e-6)
    why = out["explanations"]
    churn = why[why["target"] == "churn"].groupby("account_id")
    probability = churn["base"].first() + churn["contribution"].sum()
    np.testing.assert_allclose(probability.reindex(listed.index), listed, atol=1e-6)
    assert (tmp_path / "exports" / "targets.csv").exists()
