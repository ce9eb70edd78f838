"""The dask engine builds what the pandas engine builds, on a 2-worker LocalCluster (run with -m dask)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from potential.config import Config
from potential.engines import dask_engine
from potential.errors import ConfigError, InputError
from potential.features.build import build_features
from potential.labels.training_set import build_training_set
from potential.synthetic.portfolio import DEFAULT_END, generate_portfolio, write_portfolio
from tests import stages as pipeline
from tests.cli_helpers import run_cli

pytestmark = pytest.mark.dask
AS_OF = (DEFAULT_END - pd.DateOffset(months=2)).normalize()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dask") / "data"
    write_portfolio(generate_portfolio(400, months=30, seed=11), folder)
    return folder


@pytest.fixture(scope="module")
def client():
    with dask_engine.session() as client:
        yield client


def _beside(data: Path, folder: Path) -> Path:
    """A new data folder with the fixture's accounts and activities, for a transactions table of a test's own."""
    folder.mkdir()
    for name in ("accounts.csv", "activities.csv"):
        (folder / name).write_bytes((data / name).read_bytes())
    return folder


def _same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    a = a.sort_values(keys, ignore_index=True)
    b = b.sort_values(keys, ignore_index=True)[list(a.columns)]
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


def test_features_match_the_pandas_engine_value_for_value(data, client):
    config = Config(engine="dask")
    expected = build_features(pipeline.load(data, Config()), AS_OF, config.features).reset_index()
    for buckets in (1, 3, 7):  # the partitioning must not change a single value
        got = dask_engine.features(dask_engine.load(data, config, buckets=buckets), [AS_OF], AS_OF, config)
        _same(expected, got.compute().drop(columns="cutoff"), ["account_id"])


def test_buckets_no_account_falls_in_are_read_as_empty_tables(data, client, tmp_path):
    """A few accounts over many buckets: the empty buckets keep every column (they used to fail the build)."""
    folder = tmp_path / "few"
    folder.mkdir()
    tx = pd.read_csv(data / "transactions.csv", dtype=str)
    tx[tx["account_id"].isin(sorted(set(tx["account_id"]))[:3])].to_csv(
        folder / "transactions.csv", index=False
    )
    config = Config(engine="dask")
    expected = build_features(pipeline.load(folder, Config()), AS_OF, config.features).reset_index()
    loaded = dask_engine.load(folder, config, buckets=8)
    got = dask_engine.features(loaded, [AS_OF], AS_OF, config)
    assert got.npartitions == 8 and len(expected) == 3
    _same(expected, got.compute().drop(columns="cutoff"), ["account_id"])


def test_partitioned_parquet_input_reads_like_the_single_file(data, client, tmp_path):
    folder = _beside(data, tmp_path / "parts")
    tx = pd.read_csv(data / "transactions.csv", dtype=str)
    (folder / "transactions").mkdir()
    for i, chunk in enumerate(range(0, len(tx), len(tx) // 4 + 1)):
        tx.iloc[chunk : chunk + len(tx) // 4 + 1].to_parquet(folder / "transactions" / f"part-{i}.parquet")
    config = Config(engine="dask")
    single = dask_engine.features(dask_engine.load(data, config), [AS_OF], AS_OF, config).compute()
    parts = dask_engine.load(folder, config)
    assert parts.transactions.npartitions >= 4
    _same(single, dask_engine.features(parts, [AS_OF], AS_OF, config).compute(), ["account_id"])


def test_training_set_validation_slices_match_the_pandas_engine(data, client):
    config = Config(engine="dask")
    expected = build_training_set(pipeline.load(data, Config()), AS_OF, config)
    ts, boosters = dask_engine.training_set(dask_engine.load(data, config, buckets=3), AS_OF, config, client)
    assert boosters is not None
    for name in ("calibration", "test"):
        want = expected.slice == name
        got = ts.slice == name
        _same(
            expected.features[want].join(expected.labels[want]).reset_index(),
            ts.features[got].join(ts.labels[got]).reset_index(),
            ["account_id", "cutoff"],
        )
    train_labels = expected.labels.loc[expected.slice == "train", "churn"].dropna()
    assert sorted(boosters.train_labels("churn")) == sorted(train_labels)


def test_run_on_dask_then_rank_with_pandas_from_the_same_registry(data, tmp_path, capsys):
    workspace = tmp_path / "ws"
    code, out, err = run_cli(
        ["run", "--data", data, "--as-of", AS_OF.date(), "--out", workspace, "--engine", "dask"], capsys
    )
    assert code == 0, err
    assert (workspace / "reports" / "index.html").exists()
    assert list((workspace / "exports" / "explanations.parquet").glob("part-*.parquet"))
    from potential.tracking.store import Tracker

    board = Tracker(workspace, Config()).leaderboard()
    assert len(board) and (board["engine"] == "dask").all()
    dask_list = pd.read_csv(workspace / "exports" / "targets.csv", dtype={"account_id": str})
    # the registered models are plain LightGBM: the pandas engine scores with them, to the same numbers
    code, _, err = run_cli(["rank", "--data", data, "--as-of", AS_OF.date(), "--out", workspace], capsys)
    assert code == 0, err
    pandas_list = pd.read_csv(workspace / "exports" / "targets.csv", dtype={"account_id": str})
    pd.testing.assert_frame_equal(dask_list, pandas_list, check_exact=False, rtol=1e-9)


def test_bad_rows_in_a_partition_are_reported_like_the_pandas_engine(data, tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    tx = pd.read_csv(data / "transactions.csv", dtype=str)
    tx.loc[5, "amount"] = "twelve"
    tx.to_csv(folder / "transactions.csv", index=False)
    out = tmp_path / "f.parquet"
    code, _, err = run_cli(
        ["features", "--data", folder, "--as-of", AS_OF.date(), "--out", out, "--engine", "dask"], capsys
    )
    assert code == 2
    assert "transactions.csv" in err and "'amount'" in err and "twelve" in err
    assert not out.exists()


def test_a_semicolon_export_in_parts_reads_like_the_pandas_engine(data, client, tmp_path):
    """Parts written by a European spreadsheet (';' between columns, decimal commas): the delimiter is read
    from the header as the pandas engine reads it, with the same note, and every feature value agrees."""
    folder = _beside(data, tmp_path / "semicolon")
    (folder / "transactions").mkdir()
    tx = pd.read_csv(data / "transactions.csv")
    half = len(tx) // 2
    for i, part in enumerate((tx.iloc[:half], tx.iloc[half:])):
        part.to_csv(folder / "transactions" / f"part-{i}.csv", index=False, sep=";", decimal=",")
    config = Config(engine="dask")
    loaded = dask_engine.load(folder, config)
    expected = pipeline.load(folder, Config())
    said = [note for note in loaded.notes if "separated by" in note]
    assert said == [note for note in expected.notes if "separated by" in note]
    assert said == [
        "transactions: columns separated by ';' (read from its first line; data.delimiter sets it)."
    ]
    got = dask_engine.features(loaded, [AS_OF], AS_OF, config).compute().drop(columns="cutoff")
    _same(build_features(expected, AS_OF, config.features).reset_index(), got, ["account_id"])


def test_parts_without_a_header_aligned_with_spaces_read_like_the_pandas_engine(data, client, tmp_path):
    """Parts with no header line, columns aligned with spaces: named by position on both engines, the same
    notes, every feature value equal, and a bad value's row numbered by its line in the file."""
    folder = _beside(data, tmp_path / "aligned")
    (folder / "transactions").mkdir()
    tx = pd.read_csv(data / "transactions.csv", dtype=str)[["account_id", "date", "amount"]]
    half = len(tx) // 2
    for i, part in enumerate((tx.iloc[:half], tx.iloc[half:])):
        lines = [f"  {a:>10}  {d}  {m:>12}\n" for a, d, m in part.itertuples(index=False)]
        (folder / "transactions" / f"part-{i}.csv").write_text("".join(lines), encoding="utf-8")
    columns = {"transactions": {"account_id": "column_1", "date": "column_2", "amount": "column_3"}}
    config = Config(engine="dask", data={"columns": columns})
    loaded = dask_engine.load(folder, config)
    expected = pipeline.load(folder, Config(data={"columns": columns}))
    said = [note for note in loaded.notes if "transactions:" in note]
    assert said == [note for note in expected.notes if "transactions:" in note]
    assert any("no header line" in note for note in said) and any("by spaces" in note for note in said)
    got = dask_engine.features(loaded, [AS_OF], AS_OF, config).compute().drop(columns="cutoff")
    _same(build_features(expected, AS_OF, config.features).reset_index(), got, ["account_id"])
    part = folder / "transactions" / "part-0.csv"
    lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(lines[2].split()[2], "twelve")
    part.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError, match=r"'column_3' \(read as 'amount'\).*\(rows 3, e.g. 'twelve'\)"):
        dask_engine.load(folder, config)


def test_our_names_written_otherwise_are_read_and_noted_like_the_pandas_engine(data, client, tmp_path):
    folder = _beside(data, tmp_path / "cased")
    tx = pd.read_csv(data / "transactions.csv", dtype=str)
    tx.rename(columns={"account_id": "Account ID", "date": "Date", "amount": "AMOUNT"}).to_csv(
        folder / "transactions.csv", index=False
    )
    config = Config(engine="dask")
    loaded = dask_engine.load(folder, config)
    expected = pipeline.load(folder, Config())
    said = [note for note in loaded.notes if "our names, written otherwise" in note]
    assert said == [note for note in expected.notes if "our names, written otherwise" in note]
    assert said and "'Account ID' as account_id, 'Date' as date, 'AMOUNT' as amount" in said[0]
    got = dask_engine.features(loaded, [AS_OF], AS_OF, config).compute().drop(columns="cutoff")
    _same(build_features(expected, AS_OF, config.features).reset_index(), got, ["account_id"])


def test_a_workbook_of_two_year_sheets_reads_like_the_pandas_engine(data, client, tmp_path):
    folder = _beside(data, tmp_path / "workbook")
    tx = pd.read_csv(data / "transactions.csv", dtype=str)
    half = len(tx) // 2
    with pd.ExcelWriter(folder / "transactions.xlsx") as writer:
        tx.iloc[:half].to_excel(writer, sheet_name="first", index=False)
        tx.iloc[half:].to_excel(writer, sheet_name="second", index=False)
    config = Config(engine="dask")
    loaded = dask_engine.load(folder, config)
    expected = pipeline.load(folder, Config())
    said = [note for note in loaded.notes if "sheets" in note]
    assert said == [note for note in expected.notes if "sheets" in note]
    assert said == ["transactions.xlsx: read the sheets 'first', 'second' as one table."]
    got = dask_engine.features(loaded, [AS_OF], AS_OF, config).compute().drop(columns="cutoff")
    _same(build_features(expected, AS_OF, config.features).reset_index(), got, ["account_id"])


def test_a_table_mostly_without_ids_is_refused_naming_the_column_as_the_file_does(data, client, tmp_path):
    """The id column written 'Account ID' and empty in most rows: both engines refuse, naming it so."""
    folder = _beside(data, tmp_path / "mostly_unnamed")
    tx = pd.read_csv(data / "transactions.csv", dtype=str).rename(columns={"account_id": "Account ID"})
    tx.loc[tx.index[: int(len(tx) * 0.9)], "Account ID"] = ""
    tx.to_csv(folder / "transactions.csv", index=False)
    with pytest.raises(InputError) as pandas_refusal:
        pipeline.load(folder, Config())
    with pytest.raises(InputError) as dask_refusal:
        dask_engine.load(folder, Config(engine="dask"))
    assert "column 'Account ID' (read as 'account_id') has" in str(pandas_refusal.value)
    assert str(dask_refusal.value) == str(pandas_refusal.value)


def test_rows_without_ids_in_a_file_without_header_are_noted_by_their_lines(data, client, tmp_path):
    folder = _beside(data, tmp_path / "bare_unnamed")
    tx = pd.read_csv(data / "transactions.csv", dtype=str)[["account_id", "date", "amount"]]
    tx.loc[[2, 4], "account_id"] = ""
    tx.to_csv(folder / "transactions.csv", index=False, header=False)
    columns = {"transactions": {"account_id": "column_1", "date": "column_2", "amount": "column_3"}}
    loaded = dask_engine.load(folder, Config(engine="dask", data={"columns": columns}))
    expected = pipeline.load(folder, Config(data={"columns": columns}))
    said = [note for note in loaded.notes if "left out" in note]
    assert said == [note for note in expected.notes if "left out" in note]
    assert said and "(rows 3, 5)" in said[0]  # lines 3 and 5 of the file: it has no header line


def test_row_numbers_as_ids_are_refused_beside_events_before_any_reading(data):
    config = Config(engine="dask", data={"row_ids": True})
    with pytest.raises(
        ConfigError, match=r"data.row_ids numbers the rows of a profile table, but transactions"
    ):
        dask_engine.load(data, config)


def test_rows_without_an_account_id_are_left_out_like_the_pandas_engine(data, client, tmp_path):
    """data.blank_ids: drop; the note names the first rows of the sample the table is planned from."""
    folder = _beside(data, tmp_path / "unnamed")
    tx = pd.read_csv(data / "transactions.csv", dtype=str)
    tx.loc[[3, 8], "account_id"] = ""
    tx.to_csv(folder / "transactions.csv", index=False)
    config = Config(engine="dask")
    loaded = dask_engine.load(folder, config)
    assert any("left out 2 row(s) without an account id (rows 5, 10" in note for note in loaded.notes)
    expected = build_features(pipeline.load(folder, Config()), AS_OF, config.features).reset_index()
    got = dask_engine.features(loaded, [AS_OF], AS_OF, config).compute().drop(columns="cutoff")
    _same(expected, got, ["account_id"])


def test_rows_without_an_id_are_counted_over_the_whole_table_not_per_part(data, client, tmp_path):
    """An export with the sales to unnamed customers together: one part mostly without ids is read as the
    pandas engine reads the whole table (left out, counted over every part, the same note), and a table
    mostly without ids is refused by both."""
    tx = pd.read_csv(data / "transactions.csv", dtype=str)
    half = len(tx) // 2

    def parts(name: str, blank_rows: int) -> Path:
        folder = _beside(data, tmp_path / name)
        (folder / "transactions").mkdir()
        table = tx.copy()
        table.loc[: blank_rows - 1, "account_id"] = ""
        table.iloc[:half].to_csv(folder / "transactions" / "part-0.csv", index=False)
        table.iloc[half:].to_csv(folder / "transactions" / "part-1.csv", index=False)
        return folder

    config = Config(engine="dask")
    folder = parts("walk-in", int(half * 0.6))  # 60% of the first part, 30% of the table
    loaded = dask_engine.load(folder, config)
    assert loaded.transactions.npartitions >= 2
    expected = pipeline.load(folder, Config())
    said = [note for note in loaded.notes if "without an account id" in note]
    assert said == [note for note in expected.notes if "without an account id" in note]
    assert said[0].startswith(
        f"transactions: left out {int(half * 0.6):,} row(s) without an account id (rows 2,"
    )
    got = dask_engine.features(loaded, [AS_OF], AS_OF, config).compute().drop(columns="cutoff")
    _same(build_features(expected, AS_OF, config.features).reset_index(), got, ["account_id"])

    folder = parts("wrong-id", int(len(tx) * 0.6))
    for engine in (lambda: pipeline.load(folder, Config()), lambda: dask_engine.load(folder, config)):
        with pytest.raises(InputError, match=r"'account_id' has \d+ empty id.*likely not the account id"):
            engine()


def test_scheduler_options_fail_clearly(data, tmp_path, capsys):
    args = ["features", "--data", data, "--as-of", AS_OF.date(), "--out", tmp_path / "f.parquet"]
    code, _, err = run_cli([*args, "--scheduler", "tcp://127.0.0.1:9"], capsys)
    assert code == 2 and "--engine dask" in err
    code, _, err = run_cli([*args, "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"], capsys)
    assert code == 2 and "cannot reach a Dask scheduler" in err
