"""Both engines compute the same thing (part of the default run: a small book on a 2-worker cluster)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from potential.app.pipeline import Pipeline
from potential.config import Config
from potential.engines import open_engine
from potential.synthetic.portfolio import DEFAULT_END, generate_portfolio, write_portfolio
from tests.cli_helpers import run_cli

AS_OF = (DEFAULT_END - pd.DateOffset(months=3)).normalize()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("parity") / "data"
    write_portfolio(generate_portfolio(150, months=24, seed=5), folder)
    return folder


@pytest.fixture(scope="module")
def dask_engine():
    with open_engine(Config(engine="dask")) as engine:
        yield engine


def test_open_engine_reads_the_setting_and_refuses_a_scheduler_without_dask():
    with open_engine(Config()) as engine:
        assert engine.name == "pandas"
    from potential.errors import PotentialError

    with (
        pytest.raises(PotentialError, match="--engine dask"),
        open_engine(Config(engine={"scheduler": "tcp://x:1"})),
    ):
        pass


def test_a_plain_engine_name_in_the_config_means_its_kind():
    assert Config(engine="dask").engine.kind == "dask"
    assert Config(engine={"kind": "dask", "workers": 3}).engine.workers == 3


def test_features_and_audit_are_the_same_on_both_engines(data, dask_engine):
    config = Config()
    with open_engine(config) as pandas_engine:
        local = Pipeline(pandas_engine, config)
        expected = pandas_engine.features(local.load(data), AS_OF)
        expected_audit = local.audit(data, AS_OF)
    distributed = Pipeline(dask_engine, Config(engine="dask"))
    got = dask_engine.features(distributed.load(data), AS_OF)
    assert len(expected) > 100
    pd.testing.assert_frame_equal(expected, got[list(expected.columns)], check_exact=False, rtol=1e-9)
    audit = distributed.audit(data, AS_OF)
    assert audit == expected_audit
    assert any("time travel: no feature changes" in line for line in audit)


def test_validate_on_the_dask_engine_lists_the_same_tables(data, capsys):
    code, pandas_out, err = run_cli(["validate", "--data", data], capsys)
    assert code == 0, err
    code, dask_out, err = run_cli(["validate", "--data", data, "--engine", "dask"], capsys)
    assert code == 0, err
    for table in ("accounts", "transactions", "activities"):
        assert table in dask_out
    rows = [line for line in pandas_out.splitlines() if "transactions" in line]
    assert rows and rows[0] in dask_out  # same file, same row and column counts


def test_dask_engine_reads_conventions_like_the_pandas_engine(tmp_path, capsys):
    """Decimal commas and day-first dates are decided once for the whole table, on both engines."""
    data = tmp_path / "data"
    data.mkdir()
    rows = ["account_id,date,amount"] + [
        f'A{i % 7},{1 + i % 28:02d}/{1 + i % 12:02d}/2025,"{100 + i},{i % 100:02d}"' for i in range(300)
    ]
    (data / "transactions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = {}
    for engine in ("pandas", "dask"):
        target = tmp_path / f"{engine}.csv"
        code, stdout, err = run_cli(
            ["features", "--data", data, "--as-of", "2026-01-01", "--out", target, "--engine", engine], capsys
        )
        assert code == 0, err
        out[engine] = pd.read_csv(target).sort_values("account_id", ignore_index=True)
    assert out["pandas"]["spend_365d"].iloc[0] < 100_000  # 100,05 is a hundred, not ten thousand
    pd.testing.assert_frame_equal(out["pandas"], out["dask"][list(out["pandas"].columns)], rtol=1e-9)


def test_dask_engine_refuses_a_purchase_free_log_and_a_bad_byte(tmp_path, capsys):
    refunds = tmp_path / "refunds"
    refunds.mkdir()
    (refunds / "transactions.csv").write_text("account_id,date,amount\nA,2025-01-05,-10\nB,2025-02-05,0\n")
    code, _, err = run_cli(["validate", "--data", refunds, "--engine", "dask"], capsys)
    assert code == 2 and "no positive value" in err and "1 zero, 1 negative" in err
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    body = "account_id,date,amount\n" + "".join(f"A{i},2025-01-05,10\n" for i in range(25_000))
    (legacy / "transactions.csv").write_bytes(body.encode() + "Z\xe9,2025-01-05,10\n".encode("cp1252"))
    code, _, err = run_cli(["validate", "--data", legacy, "--engine", "dask"], capsys)
    assert code == 2 and "transactions.csv" in err and "line 25002" in err and "data.encoding" in err
