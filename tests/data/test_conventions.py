"""Conventions decided per column from the whole column (decimal separator, date order, encoding, header)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from potential.config import DataConfig
from potential.data.conventions import MAX_ABS_NUMBER, parse_number_text
from potential.data.schema import clean_table, load_dataset, plan_table, read_raw
from potential.errors import InputError

HEADER = "account_id,date,amount\n"


def write(folder, text: str, name: str = "transactions.csv"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def tx(folder, amounts=None, dates=None, config: DataConfig | None = None):
    amounts = amounts or ["10"] * len(dates)
    dates = dates or ["2024-01-05"] * len(amounts)
    rows = "".join(f'A{i},"{d}","{a}"\n' for i, (d, a) in enumerate(zip(dates, amounts, strict=True)))
    return load_dataset(write(folder, HEADER + rows), config or DataConfig())


# ----------------------------------------------------------------------------------------- decimals
@pytest.mark.parametrize(
    ("amounts", "expected", "note"),
    [
        (
            ["5764,76", "12,5", "3"],
            [5764.76, 12.5, 3.0],
            r"'amount' uses a decimal comma \(e.g. '5764,76'\); read as 5764.76",
        ),
        (
            ["1.234,56", "1.234", "7"],
            [1234.56, 1234.0, 7.0],
            r"decimal comma \(e.g. '1.234,56'\); read as 1234.56",
        ),
        (["1,234.56", "1,234", "7"], [1234.56, 1234.0, 7.0], r"decimal point with thousands separators"),
        (["1.234.567", "1.234"], [1234567.0, 1234.0], r"decimal comma"),  # two dots: dots group thousands
        (["1,234,567", "1,234"], [1234567.0, 1234.0], r"thousands separators"),
        (["1 234,50", "0,99"], [1234.5, 0.99], r"decimal comma"),  # French: space groups
        (["1\u00a0234,50", "2"], [1234.5, 2.0], r"decimal comma"),  # no-break space, as Excel writes it
        (["1'234.50", "2"], [1234.5, 2.0], None),  # Swiss apostrophe
        (["12,34,567.00", "5.5"], [1234567.0, 5.5], r"thousands separators"),  # lakh grouping
        (["0,125", "2"], [0.125, 2.0], r"decimal comma"),  # a leading zero never groups thousands
        (["1234,567", "2"], [1234.567, 2.0], r"decimal comma"),  # four digits before: not a group
        (["10.50", "-3.25", "1e3"], [10.5, -3.25, 1000.0], None),
        (["12", "7", "-4"], [12.0, 7.0, -4.0], None),
    ],
)
def test_decimal_separator_is_decided_for_the_whole_column(tmp_path, amounts, expected, note):
    ds = tx(tmp_path, amounts)
    got = ds.transactions.sort_values("account_id")["amount"].tolist()
    assert got == pytest.approx(expected)
    notes = " ".join(ds.notes)
    if note:
        assert pytest.importorskip("re").search(note, notes), notes
    else:
        assert "decimal" not in notes


@pytest.mark.parametrize(
    ("amounts", "pattern"),
    [
        (
            ["1,234", "2,500", "7"],
            r"'amount' has 2 value\(s\) where the separator could mean thousands or decimals.*rows 2, 3.*'1,234'.*data.decimal",
        ),
        (["1.234", "2.500"], r"'amount' has 2 value\(s\).*thousands or decimals.*data.decimal"),
        (
            ["1,5", "2.5"],
            r"'amount' mixes a decimal point and a decimal comma \(rows 2, 3, e.g. '1,5', '2.5'\).*data.decimal",
        ),
        (["12,34.5", "7.5"], r"'amount' has 1 non-numeric.*'12,34.5'"),  # a separator in the wrong place
        (["1.2.3,4", "7"], r"'amount' has 1 non-numeric"),
    ],
)
def test_unsettled_or_mixed_decimals_are_refused(tmp_path, amounts, pattern):
    with pytest.raises(InputError, match=pattern):
        tx(tmp_path, amounts)


@pytest.mark.parametrize(("decimal", "expected"), [(",", [1.234, 2.5, 7.0]), (".", [1234.0, 2500.0, 7.0])])
def test_configured_decimal_settles_the_ambiguous_column(tmp_path, decimal, expected):
    ds = tx(tmp_path, ["1,234", "2,500", "7"], config=DataConfig(decimal=decimal))
    assert ds.transactions.sort_values("account_id")["amount"].tolist() == pytest.approx(expected)


def test_configured_decimal_refuses_the_other_convention(tmp_path):
    with pytest.raises(InputError, match=r"non-numeric.*'1,234.56'"):
        tx(tmp_path, ["1,234.56", "2"], config=DataConfig(decimal=","))


def test_ambiguous_column_follows_the_tables_other_number_column(tmp_path):
    text = 'account_id,date,amount,quantity\nA,2024-01-05,"5764,76","1,500"\nB,2024-01-06,"12,5","2,250"\n'
    ds = load_dataset(write(tmp_path, text), DataConfig())
    assert ds.transactions["quantity"].tolist() == pytest.approx([1.5, 2.25])
    assert any("'quantity'" in n and "column 'amount' uses" in n for n in ds.notes)


def test_profile_column_with_decimal_comma_is_numeric(tmp_path):
    write(tmp_path, HEADER + "A,2024-01-05,10\n")
    write(tmp_path, 'account_id,revenue\nA,"1.234,5"\nB,"99,9"\n', "accounts.csv")
    ds = load_dataset(tmp_path, DataConfig())
    assert ds.accounts.set_index("account_id")["revenue"].to_dict() == {"A": 1234.5, "B": 99.9}


def test_parse_number_text_keeps_bad_values_bad():
    values = parse_number_text(pd.Series(["1,234.5", "12,34.5", "abc", "", "1.5"]), ".")
    assert values.iloc[0] == 1234.5 and values.iloc[4] == 1.5
    assert values.iloc[1:4].isna().all()


# ------------------------------------------------------------------------------------------- limits
@pytest.mark.parametrize("value", ["1e308", "-1e308", "inf", "-Infinity", "2e15"])
def test_absurd_and_infinite_amounts_are_refused(tmp_path, value):
    with pytest.raises(
        InputError,
        match=rf"'amount' has 1 value\(s\) that are infinite or larger than 1e\+15.*rows 3.*'{value}'",
    ):
        tx(tmp_path, ["10", value, "5"])


def test_largest_allowed_amount_passes(tmp_path):
    ds = tx(tmp_path, [f"{MAX_ABS_NUMBER:.0f}", "5"])
    assert ds.transactions["amount"].max() == MAX_ABS_NUMBER


def test_absurd_parquet_amounts_are_refused(tmp_path):
    frame = pd.DataFrame(
        {"account_id": ["A", "B"], "date": pd.to_datetime(["2024-01-01"] * 2), "amount": [1.0, np.inf]}
    )
    tmp_path.mkdir(exist_ok=True)
    frame.to_parquet(tmp_path / "transactions.parquet")
    with pytest.raises(InputError, match=r"'amount' has 1 value\(s\) that are infinite"):
        load_dataset(tmp_path, DataConfig())


@pytest.mark.parametrize(
    ("amounts", "counts"),
    [
        (["0", "0", "0"], r"3 row\(s\) \(3 zero, 0 negative\)"),
        (["-5", "0", "-1,5"], r"3 row\(s\) \(1 zero, 2 negative\)"),
    ],
)
def test_transactions_without_a_purchase_are_refused(tmp_path, amounts, counts):
    with pytest.raises(
        InputError,
        match=rf"transactions.csv: column 'amount' has no positive value in {counts}.*positive amounts",
    ):
        tx(tmp_path, amounts)


def test_one_purchase_among_refunds_is_enough(tmp_path):
    assert tx(tmp_path, ["-5", "0", "12"]).transactions["amount"].max() == 12


# -------------------------------------------------------------------------------------------- dates
@pytest.mark.parametrize(
    ("dates", "expected", "note"),
    [
        (
            ["31/01/2026", "01/02/2026", "03/04/2026"],
            ["2026-01-31", "2026-02-01", "2026-04-03"],
            r"day-first dates \(e.g. '31/01/2026'\)",
        ),
        (
            ["01/31/2026", "02/01/2026", "03/04/2026"],
            ["2026-01-31", "2026-02-01", "2026-03-04"],
            r"month-first dates \(e.g. '01/31/2026'\)",
        ),
        (["31.01.2026", "1.2.26", "05-03-2026"], ["2026-01-31", "2026-02-01", "2026-03-05"], r"day-first"),
        (
            ["31/01/2026 14:30", "02/03/2026", "2026-05-06"],
            ["2026-01-31 14:30", "2026-03-02", "2026-05-06"],
            r"day-first",
        ),
        (["01/01/2026", "12/12/2025"], ["2026-01-01", "2025-12-12"], None),  # the order changes nothing
        (
            ["2026-01-05", "2026-02-03T10:00:00+01:00"],
            ["2026-01-05", "2026-02-03 10:00"],  # the local time written: the zone is not applied
            None,
        ),  # ISO as before
        (["5 Jan 2026", "February 3, 2026"], ["2026-01-05", "2026-02-03"], None),
    ],
)
def test_date_order_is_decided_for_the_whole_column(tmp_path, dates, expected, note):
    ds = tx(tmp_path, dates=dates)
    got = ds.transactions.sort_values("account_id")["date"].tolist()
    assert got == [pd.Timestamp(e) for e in expected]
    notes = " ".join(ds.notes)
    assert (pytest.importorskip("re").search(note, notes) is not None) if note else "first dates" not in notes


@pytest.mark.parametrize(
    ("dates", "pattern"),
    [
        (
            ["01/02/2026", "03/04/2026", "2026-01-01"],
            r"'date' has 2 date\(s\) that read day-first or month-first.*rows 2, 3.*'01/02/2026'.*data.date_format.*'%d/%m/%Y'",
        ),
        (
            ["31/01/2026", "01/31/2026"],
            r"'date' mixes day-first and month-first dates \(rows 2, 3, e.g. '31/01/2026', '01/31/2026'\).*data.date_format",
        ),
        (["31/31/2026", "2026-01-01"], r"'date' has 1 unparseable date.*'31/31/2026'"),
    ],
)
def test_unsettled_or_mixed_date_orders_are_refused(tmp_path, dates, pattern):
    with pytest.raises(InputError, match=pattern):
        tx(tmp_path, dates=dates)


@pytest.mark.parametrize(
    ("dates", "suggested"),
    [
        (["01.02.2026 14:30", "03.04.2026 09:15"], ("%d.%m.%Y %H:%M", "03.04.2026 14:30")),
        (["1-2-26", "3-4-26"], ("%d-%m-%y", "03-04-26")),
        (["01/02/2026T10:00:00", "03/04/2026T08:00:00"], ("%d/%m/%YT%H:%M:%S", "03/04/2026T14:30:00")),
    ],
)
def test_the_suggested_date_format_is_written_as_the_column_is_and_reads_it(tmp_path, dates, suggested):
    """The refusal's suggestion copies the column's separator, year width and time of day: set as it is,
    it reads the file (a '%d/%m/%Y' offered for '01.02.2026 14:30' would refuse every row)."""
    fmt, example = suggested
    with pytest.raises(InputError) as refused:
        tx(tmp_path, dates=dates)
    assert f"'{fmt}' if {example} is 3 April" in str(refused.value)
    ds = tx(tmp_path, dates=dates, config=DataConfig(date_format=fmt))
    assert sorted(ds.transactions["date"].dt.strftime("%m-%d").tolist()) == ["02-01", "04-03"]


@pytest.mark.parametrize(
    ("fmt", "dates", "expected"),
    [
        ("unix", ["1704067200", "1704112245"], ["2024-01-01 00:00:00", "2024-01-01 12:30:45"]),
        ("unix_ms", ["1704067200000", "1704112245500"], ["2024-01-01 00:00:00", "2024-01-01 12:30:45.5"]),
        ("excel", ["45292", "45292.75"], ["2024-01-01 00:00:00", "2024-01-01 18:00:00"]),
        ("days since 2020-01-01", ["1", "711"], ["2020-01-02", "2021-12-12"]),
    ],
)
def test_dates_written_as_numbers_are_refused_naming_the_format_that_reads_them(
    tmp_path, fmt, dates, expected
):
    """Epoch seconds or milliseconds and spreadsheet day numbers: the refusal names the data.date_format
    whose numbers are of that size, and that format reads them (times of day kept)."""
    with pytest.raises(
        InputError, match=rf"unparseable date.*set data.date_format in the config \('{fmt}' if"
    ):
        tx(tmp_path, dates=dates)
    ds = tx(tmp_path, dates=dates, config=DataConfig(date_format=fmt))
    assert sorted(ds.transactions["date"].tolist()) == [pd.Timestamp(e) for e in expected]


def test_a_mapped_date_column_is_named_as_the_file_names_it(tmp_path):
    """A panel's DAY column (day numbers) mapped to date: the refusal names DAY, not our 'date'."""
    folder = write(tmp_path, "household_key,DAY,SALES_VALUE\n1,20,2.5\n2,711,1.0\n")
    columns = {"transactions": {"account_id": "household_key", "date": "DAY", "amount": "SALES_VALUE"}}
    with pytest.raises(InputError, match=r"column 'DAY' \(read as 'date'\) has 2 unparseable date\(s\)"):
        load_dataset(folder, DataConfig(columns=columns))
    ds = load_dataset(folder, DataConfig(columns=columns, date_format="days since 2019-12-31"))
    assert ds.transactions["date"].tolist() == [pd.Timestamp("2020-01-20"), pd.Timestamp("2021-12-11")]


def test_a_number_date_format_refuses_what_is_not_a_date_of_that_kind(tmp_path):
    with pytest.raises(InputError, match=r"1 unparseable date.*'1e300'.*expected format 'unix'"):
        tx(tmp_path, dates=["1704067200", "1e300"], config=DataConfig(date_format="unix"))
    with pytest.raises(
        InputError, match=r"1 unparseable date.*'soon'.*or ISO dates.*change data.date_format"
    ):
        tx(tmp_path, dates=["45292", "soon"], config=DataConfig(date_format="excel"))


@pytest.mark.parametrize("fmt", ["%Y%m%d", "unix"])
def test_iso_dates_are_read_beside_a_configured_format(tmp_path, fmt):
    """data.date_format applies to every table: an accounts export from another system writes ISO dates
    beside transactions in the configured format, and needs no setting of its own."""
    written = {"%Y%m%d": ["20240105", "20240205"], "unix": ["1704412800", "1707091200"]}[fmt]
    folder = write(tmp_path, HEADER + "".join(f"A{i},{d},10\n" for i, d in enumerate(written)))
    write(folder, "account_id,created_date\nA0,2019-03-01\nA1,2020-07-15 08:30\n", name="accounts.csv")
    ds = load_dataset(folder, DataConfig(date_format=fmt))
    assert sorted(ds.transactions["date"].tolist()) == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-02-05"),
    ]
    created = ds.accounts.set_index("account_id")["created_date"]
    assert created.to_dict() == {"A0": pd.Timestamp("2019-03-01"), "A1": pd.Timestamp("2020-07-15 08:30")}
    write(folder, "account_id,created_date\nA0,2019-03-01\nA1,1/2/2020\n", name="accounts.csv")
    with pytest.raises(
        InputError, match=rf"'created_date' has 1 unparseable.*'1/2/2020'.*format '{fmt}' or ISO"
    ):
        load_dataset(folder, DataConfig(date_format=fmt))


def test_configured_date_format_settles_the_order(tmp_path):
    ds = tx(tmp_path, dates=["01/02/2026", "03/04/2026"], config=DataConfig(date_format="%d/%m/%Y"))
    assert sorted(ds.transactions["date"].tolist()) == [
        pd.Timestamp("2026-02-01"),
        pd.Timestamp("2026-04-03"),
    ]
    assert not ds.notes


def test_a_plan_from_the_whole_table_reads_every_partition_alike(tmp_path):
    """The dask engine cleans partitions one by one: the decision from the whole table must hold in each."""
    path = write(tmp_path, HEADER + 'A,31/01/2026,"5,5"\nB,01/02/2026,"1,234"\n') / "transactions.csv"
    raw = read_raw(path)
    notes: list[str] = []
    plan = plan_table(raw, path, "transactions", DataConfig(), notes)
    assert plan.dayfirst["date"] is True and plan.decimal["amount"] == ","
    assert len(notes) == 2
    part = clean_table(raw.iloc[1:], path, "transactions", DataConfig(), [], plan=plan)
    assert part["date"].tolist() == [pd.Timestamp("2026-02-01")] and part["amount"].tolist() == [1.234]
    # alone, the partition cannot tell
    with pytest.raises(InputError, match="no value in the column settles which"):
        clean_table(raw.iloc[1:], path, "transactions", DataConfig(), [])


# ----------------------------------------------------------------------------------------- encoding
def test_utf8_file_with_one_cp1252_row_is_refused_naming_the_line(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    body = (HEADER + "Müller,2024-01-05,10\nJörg,2024-01-06,5\n").encode() + b"M\xfcnch,2024-01-07,3\n"
    (tmp_path / "transactions.csv").write_bytes(body)
    with pytest.raises(
        InputError,
        match=r"transactions.csv: is not valid UTF-8 text: line 4 has byte 0xfc at position 2.*data.encoding.*cp1252",
    ):
        load_dataset(tmp_path, DataConfig())


def test_configured_codec_reads_the_whole_file(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "transactions.csv").write_bytes(
        (HEADER + "Müller,2024-01-05,10\nJörg,2024-01-06,5\n").encode("cp1252")
    )
    ds = load_dataset(tmp_path, DataConfig(encoding="cp1252"))
    assert sorted(ds.accounts["account_id"]) == ["Jörg", "Müller"]


def test_configured_codec_that_does_not_fit_is_refused(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "transactions.csv").write_bytes(HEADER.encode() + b"M\x81ller,2024-01-05,10\n")
    with pytest.raises(InputError, match=r"not valid cp1252 text: line 2 has byte 0x81.*set data.encoding"):
        load_dataset(tmp_path, DataConfig(encoding="cp1252"))


def test_utf8_with_bom_and_accents_is_read_as_utf8(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "transactions.csv").write_bytes(("\ufeff" + HEADER + "Müller,2024-01-05,10\n").encode())
    assert load_dataset(tmp_path, DataConfig()).accounts["account_id"].tolist() == ["Müller"]


def test_utf16_is_named_with_the_fix_or_read_when_configured(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "transactions.csv").write_bytes((HEADER + "Müller,2024-01-05,10\n").encode("utf-16"))
    with pytest.raises(InputError, match=r"UTF-16 text.*data.encoding: utf-16"):
        load_dataset(tmp_path, DataConfig())
    assert load_dataset(tmp_path, DataConfig(encoding="utf-16")).accounts["account_id"].tolist() == ["Müller"]


# ------------------------------------------------------------------------------------------- header
def test_header_naming_a_used_column_twice_is_refused(tmp_path):
    write(tmp_path, "account_id,date,amount,amount\nA,2024-01-05,10,99\n")
    with pytest.raises(
        InputError,
        match=r"transactions.csv: the header names column 'amount' 2 times \(columns 3, 4\).*rename one.*data.columns.transactions.amount",
    ):
        load_dataset(tmp_path, DataConfig())


def test_header_twice_after_stripping_spaces_is_refused(tmp_path):
    write(tmp_path, "account_id,date,amount, amount\nA,2024-01-05,10,99\n")
    with pytest.raises(InputError, match=r"names column 'amount' 2 times"):
        load_dataset(tmp_path, DataConfig())


def test_unused_column_twice_and_blank_headers_are_ignored_with_a_note(tmp_path):
    write(tmp_path, "account_id,date,amount,comment,comment,,\nA,2024-01-05,10,x,y,,\n")
    ds = load_dataset(tmp_path, DataConfig())
    assert "comment" not in ds.transactions.columns and ds.transactions["amount"].tolist() == [10.0]
    assert any("'comment' appear more than once" in n for n in ds.notes)


def test_column_twice_can_be_bypassed_by_mapping_another_column(tmp_path):
    write(tmp_path, "account_id,date,amount,amount,net\nA,2024-01-05,10,99,7\n")
    ds = load_dataset(tmp_path, DataConfig(columns={"transactions": {"amount": "net"}}))
    assert ds.transactions["amount"].tolist() == [7.0]


def test_accounts_column_twice_is_refused(tmp_path):
    write(tmp_path, HEADER + "A,2024-01-05,10\n")
    write(tmp_path, "account_id,industry,industry\nA,retail,energy\n", "accounts.csv")
    with pytest.raises(InputError, match=r"accounts.csv: the header names column 'industry' 2 times"):
        load_dataset(tmp_path, DataConfig())


def test_long_cells_are_echoed_bounded(tmp_path):
    with pytest.raises(InputError) as info:
        tx(tmp_path, ["10", "x" * 100_000])
    assert len(str(info.value)) < 400 and "…" in str(info.value)


# ----------------------------------------------------------------------------------- columnar reader
def test_arrow_reader_reads_cells_as_pandas_does(tmp_path):
    """The Arrow CSV reader keeps cells as written: BOM, blank and twice-named headers, quotes, empty cells."""
    from potential.data.schema import _read_pandas

    text = '\ufeffaccount_id,date,amount,,amount\n" A1 ",2024-01-05,"1,234.5",x,\nA2,,7,,"say ""hi"""\n'
    path = tmp_path / "transactions.csv"
    path.write_text(text, encoding="utf-8")
    arrow = read_raw(path)
    reference = _read_pandas(path, "auto", "utf-8-sig", None, ",")
    assert list(arrow.columns) == ["account_id", "date", "amount", "Unnamed: 3", "amount"]
    assert list(arrow.columns) == list(reference.columns)
    assert arrow.to_numpy().tolist() == reference.to_numpy().tolist()


def test_plain_numbers_and_dates_read_like_the_general_rules():
    """The one-pass cast of plain values gives the numbers the pattern rules give; the rest still follow them."""
    from potential.data.conventions import _parse_number_text, iso_days

    values = pd.Series(["1.5", "-2", "007", "1,234.5", "+3", "12.345678901234567", "", "n/a"], dtype="str")
    fast = parse_number_text(values, ".")
    general = _parse_number_text(values.str.strip(), ".", values.index)
    np.testing.assert_array_equal(fast.to_numpy(), general.to_numpy())
    assert fast.tolist()[:5] == [1.5, -2.0, 7.0, 1234.5, 3.0]
    days = iso_days(pd.Series(["2024-02-29", "2024-3-01", "05/01/2024", "0001-01-01"], dtype="str"))
    assert str(days[0]) == "2024-02-29T00:00:00.000000000" and np.isnat(days[1:]).all()
    # an impossible day leaves the whole column to the full parser, which names it
    assert np.isnat(iso_days(pd.Series(["2024-01-05", "2023-02-30"], dtype="str"))).all()
    assert np.isnat(iso_days(pd.Series(["2024-01-05", "2024-13-01"], dtype="str"))).all()


def test_a_day_first_date_in_year_one_is_refused_by_row_not_overflowed(tmp_path, capsys):
    """Found by the property test: '20/1/0001' parsed in its own unit, then overflowed nanoseconds (exit 1)."""
    from tests.cli_helpers import run_cli

    data = tmp_path / "data"
    data.mkdir()
    (data / "transactions.csv").write_text(
        "account_id,date,amount\nA1,20/1/0001,10\nA2,21/3/2002,5\n", encoding="utf-8"
    )
    code, _, err = run_cli(["validate", "--data", data], capsys)
    assert code == 2, err
    assert "'date'" in err and "20/1/0001" in err and "between 1900 and 2200" in err


# ----------------------------------------------------------------------------------------- delimiters
COMMA_FILE = 'account_id,date,amount,product\nA1,2024-01-05,"1234.5",P1\nA2,2024-02-01,7,"P 2, large"\n'


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('account_id;date;amount;product\nA1;2024-01-05;1234,5;P1\nA2;2024-02-01;7;"P 2, large"\n', "';'"),
        (
            '"account_id";"date";"amount";"product"\nA1;2024-01-05;"1.234,5";P1\nA2;2024-02-01;7;P 2, large\n',
            "';'",
        ),
        ("account_id|date|amount|product\nA1|2024-01-05|1234.5|P1\nA2|2024-02-01|7|P 2, large\n", "'|'"),
        (
            "account_id\tdate\tamount\tproduct\nA1\t2024-01-05\t1234.5\tP1\nA2\t2024-02-01\t7\tP 2, large\n",
            "tab",
        ),
    ],
)
def test_the_delimiter_is_read_from_the_header_and_noted(tmp_path, text, shown):
    """A spreadsheet export separated by ';' (beside a decimal comma), '|' or tabs reads as the same table
    written with commas; the note says which delimiter was read (commas inside quotes or cells do not count)."""
    expected = load_dataset(write(tmp_path / "comma", COMMA_FILE), DataConfig()).transactions
    ds = load_dataset(write(tmp_path / "other", text), DataConfig())
    pd.testing.assert_frame_equal(ds.transactions, expected)
    assert any(f"columns separated by {shown}" in note for note in ds.notes)
    assert not any("separated" in note for note in load_dataset(tmp_path / "comma", DataConfig()).notes)


def test_a_tab_delimited_text_file_is_a_table(tmp_path):
    """Excel saves "Text (Tab delimited)" as .txt: found like a .csv, its tab read from the header."""
    expected = load_dataset(write(tmp_path / "comma", COMMA_FILE), DataConfig()).transactions
    text = COMMA_FILE.replace(",", "\t").replace('"P 2\t large"', '"P 2, large"')
    ds = load_dataset(write(tmp_path / "txt", text, name="transactions.txt"), DataConfig())
    pd.testing.assert_frame_equal(ds.transactions, expected)
    assert "transactions.txt: columns separated by tab" in " ".join(ds.notes)


def test_a_configured_delimiter_is_used_and_a_wrong_one_is_named_with_the_fix(tmp_path):
    text = "account_id;date;amount\nA1;2024-01-05;10\nA2;2024-02-01;7\n"
    folder = write(tmp_path, text)
    ds = load_dataset(folder, DataConfig(delimiter=";"))
    assert ds.transactions["amount"].tolist() == [10.0, 7.0] and not ds.notes
    with pytest.raises(
        InputError, match=r"columns found: account_id;date;amount \(one column: .*data.delimiter: ';'\)"
    ):
        load_dataset(folder, DataConfig(delimiter=","))


# ------------------------------------------------------------------------------ files without a header
def test_a_file_starting_with_data_has_its_columns_named_by_position_and_numbered_by_line(tmp_path):
    """No header line (data.header: auto sees a number or a date in the first line): columns are column_1,
    column_2, ... in order, the first line is a row, and a refusal numbers rows by their line in the file."""
    text = "A1,2024-01-05,10\nA2,2024-02-01,abc\nA3,2024-03-01,7\n"
    config = DataConfig(columns={"transactions": {"account_id": "column_1", "date": "column_2"}})
    with pytest.raises(InputError, match=r"required column 'amount' is missing.*column_3 = '10'"):
        load_dataset(write(tmp_path / "a", text), config)
    mapped = DataConfig(
        columns={"transactions": {"account_id": "column_1", "date": "column_2", "amount": "column_3"}}
    )
    with pytest.raises(
        InputError, match=r"'column_3' \(read as 'amount'\) has 1 non-numeric.*\(rows 2, e.g. 'abc'\)"
    ):
        load_dataset(write(tmp_path / "b", text), mapped)
    ds = load_dataset(write(tmp_path / "c", text.replace("abc", "3")), mapped)
    assert ds.transactions["account_id"].astype(str).tolist() == ["A1", "A2", "A3"]
    assert ds.transactions["amount"].tolist() == [10.0, 3.0, 7.0]
    assert any("no header line (its first line is data: A1 2024-01-05 10)" in note for note in ds.notes)


def test_a_header_is_kept_unless_its_first_line_is_data(tmp_path):
    """Names with letters, and bare years (a wide export's 2024, 2025), are a header; data.header: false
    reads a first line of text as data; data.header: true over a first line of data says which setting."""
    ds = load_dataset(
        write(tmp_path / "a", "account_id,date,amount,2024\nA1,2024-01-05,10,1\n"), DataConfig()
    )
    assert list(ds.transactions.columns[:3]) == ["account_id", "date", "amount"] and len(ds.transactions) == 1
    folder = write(tmp_path / "b", "A1,Retail,North\nA2,Hotels,South\n", name="accounts.csv")
    write(folder, "A1,2024-01-05,10\n")
    mapped = {
        "transactions": {"account_id": "column_1", "date": "column_2", "amount": "column_3"},
        "accounts": {"account_id": "column_1", "industry": "column_2", "region": "column_3"},
    }
    with pytest.raises(
        InputError, match=r"accounts.csv: column 'column_1' \(mapped to 'account_id'.*not in the file"
    ):
        load_dataset(folder, DataConfig(columns=mapped))
    ds = load_dataset(folder, DataConfig(header=False, columns=mapped))
    assert ds.accounts["account_id"].astype(str).tolist() == ["A1", "A2"]
    assert ds.accounts["region"].astype(str).tolist() == ["North", "South"]
    with pytest.raises(
        InputError, match=r"header line looks like data: if the file has none, set data.header: false"
    ):
        load_dataset(write(tmp_path / "c", "A1,2024-01-05,10\nA2,2024-02-01,3\n"), DataConfig(header=True))


def test_columns_aligned_with_spaces_are_read_or_the_setting_named(tmp_path):
    """A first line with none of , ; tab | but several words apart is aligned with spaces (leading spaces
    make no empty column); read with the comma set, the one column found names data.delimiter: whitespace."""
    expected = load_dataset(write(tmp_path / "comma", COMMA_FILE.replace('"P 2, large"', "P2")), DataConfig())
    text = (
        "  account_id   date        amount  product\n  A1  2024-01-05  1234.5  P1\n  A2  2024-02-01  7  P2\n"
    )
    ds = load_dataset(write(tmp_path / "spaces", text, name="transactions.txt"), DataConfig())
    pd.testing.assert_frame_equal(ds.transactions, expected.transactions)
    assert "transactions.txt: columns separated by spaces" in " ".join(ds.notes)
    set_ds = load_dataset(tmp_path / "spaces", DataConfig(delimiter="whitespace"))
    pd.testing.assert_frame_equal(set_ds.transactions, expected.transactions)
    with pytest.raises(
        InputError,
        match=r"one column: if the file separates columns with spaces, set data.delimiter: whitespace",
    ):
        load_dataset(tmp_path / "spaces", DataConfig(delimiter=","))


def test_a_header_of_numeric_codes_is_a_header_beside_our_names_or_with_data_header_true(tmp_path):
    """Product codes as column names look like data: beside one of our names (account_id) the line is a
    header; without one, the refusal says how to read the line as a header."""
    folder = write(tmp_path / "ours", "account_id,10001,10002\nA1,1,0\nA2,0,1\n", name="accounts.csv")
    write(folder, "account_id,date,amount\nA1,2024-01-05,10\n")
    assert {"10001", "10002"} <= set(load_dataset(folder, DataConfig()).accounts.columns)
    folder = write(tmp_path / "theirs", "cust,10001,10002\nA1,1,0\nA2,0,1\n", name="accounts.csv")
    write(folder, "account_id,date,amount\nA1,2024-01-05,10\n")
    with pytest.raises(InputError, match=r"first row has column_1 = 'cust'.*set data.header: true"):
        load_dataset(folder, DataConfig())
    ds = load_dataset(folder, DataConfig(header=True, columns={"accounts": {"account_id": "cust"}}))
    assert {"10001", "10002"} <= set(ds.accounts.columns)


# ------------------------------------------------------------------------------------------ time zones
def test_times_with_a_zone_are_the_local_times_written_so_the_as_of_day_stays_unseen(tmp_path):
    """A sale at 00:30+02:00 on the 5th is on the 5th, the business's day: converted to UTC it would fall on
    the 4th and be seen by features as of the 5th. Zones are dropped, not applied, and a note says so; a
    Parquet column in a zone is read as its local times too."""
    text = HEADER + "A1,2024-01-05T00:30:00+02:00,10\nA2,2024-01-04 23:00:00-05:00,7\nA3,2024-01-03,3\n"
    ds = load_dataset(write(tmp_path / "csv", text), DataConfig())
    assert ds.transactions["date"].tolist() == [
        pd.Timestamp("2024-01-03"),
        pd.Timestamp("2024-01-04 23:00"),
        pd.Timestamp("2024-01-05 00:30"),
    ]
    seen = ds.before(pd.Timestamp("2024-01-05")).transactions
    assert seen["account_id"].astype(str).tolist() == ["A3", "A2"]
    assert (
        "transactions.csv: column 'date' has times with a zone (e.g. '2024-01-05T00:30:00+02:00'); each is "
        "read as the local time written, the zone not applied (a sale at 00:30+02:00 on the 5th is on the 5th)."
        in ds.notes
    )
    folder = tmp_path / "parquet"
    folder.mkdir()
    berlin = pd.to_datetime(["2024-01-05 00:30"]).tz_localize("Europe/Berlin")
    pd.DataFrame({"account_id": ["A1"], "date": berlin, "amount": [10.0]}).to_parquet(
        folder / "transactions.parquet"
    )
    ds = load_dataset(folder, DataConfig())
    assert ds.transactions["date"].tolist() == [pd.Timestamp("2024-01-05 00:30")]
    assert any("holds times in zone Europe/Berlin" in note for note in ds.notes)


def test_a_date_format_naming_the_zone_converts_to_utc(tmp_path):
    text = HEADER + "A1,2024-01-05 00:30 +0200,10\n"
    ds = load_dataset(write(tmp_path, text), DataConfig(date_format="%Y-%m-%d %H:%M %z"))
    assert ds.transactions["date"].tolist() == [pd.Timestamp("2024-01-04 22:30")]
    assert not any("zone" in note for note in ds.notes)


def test_a_parquet_column_of_unix_seconds_reads_with_no_zone_note(tmp_path):
    """Typed number dates carry no zone text: nothing to note, nothing to strip."""
    pd.DataFrame({"account_id": ["A1"], "date": [1704067200], "amount": [1.0]}).to_parquet(
        tmp_path / "transactions.parquet"
    )
    ds = load_dataset(tmp_path, DataConfig(date_format="unix"))
    assert ds.transactions["date"].tolist() == [pd.Timestamp("2024-01-01")] and not ds.notes
