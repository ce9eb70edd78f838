"""The dask engine: the same features, training and scoring, with the events on a Dask cluster.

Layout. Every table is split into `P` buckets by a stable hash of `account_id`, so one account's
transactions, activities and profile always land in the same partition. Each partition then runs the
pandas builders unchanged (`local_features`, `labels_at`, scoring, rating). The few statistics that need
the whole portfolio are computed as distributed aggregates before or after that step:

- before: the feature plan (category levels of the profile, the most frequent activity kinds) and the
  first/last transaction dates;
- after, per cutoff: the average deal (additive sums) and the peer norms (a group-by on peer group, one
  task per group, which is where a percentile over a group's customers can be exact).

What stays on the client: the accounts table (one row per account, read and validated like the pandas
engine does), the ranked list (one row per account: ranking is a global sort) and the calibration and test
slices of the training set (and a bounded sample of training rows for the baselines). The events, which
are the bulk of the data, never leave the workers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from potential import interrupt
from potential.config import Config
from potential.data.conventions import codec_for, encoding_error
from potential.data.io import WORKBOOK_SUFFIX, file_digest, find_table, swap_into, table_parts
from potential.data.schema import (
    ID,
    MAX_BLANK_ID_SHARE,
    Dataset,
    check_mapped_tables,
    check_purchases,
    check_row_ids,
    clean_table,
    column_map,
    csv_layout,
    layout_notes,
    no_tables_error,
    plan_table,
    read_raw,
    read_table,
    table_sources,
    unnamed_note,
    unnamed_refusal,
    unnamed_rows,
    unplaced_labels_note,
    unread_columns,
)
from potential.engines.base import Scored, TableSummary
from potential.errors import InputError, PotentialError, rows_numbered_from
from potential.features.build import (
    FeaturePlan,
    btyd_inputs,
    fit_btyd,
    local_features,
    peer_inputs,
    prepare,
    with_btyd,
    with_peers,
)
from potential.features.engagement import kind_counts, top_kinds
from potential.features.history import average_deal, deal_sums
from potential.features.peers import (
    PEER_COLUMNS,
    effective_groups,
    group_peer_table,
    peer_pools,
    peer_rows,
)
from potential.features.profile import category_levels
from potential.labels.training_set import (
    SLICES,
    TrainingSet,
    apply_label_overrides,
    buying_curve,
    data_end,
    labels_at,
    plan_cutoffs,
    profile_training_set,
)
from potential.models.training import balanced_weights
from potential.scoring.accounts import monthly_history, score_accounts

try:  # the optional extra: `pip install 'potential[dask]'`
    import dask
    import dask.dataframe as dd
    from distributed import Client, KilledWorker, LocalCluster, default_client
    from distributed.client import FutureCancelledError

    LOST_WORK: tuple[type[BaseException], ...] = (FutureCancelledError, KilledWorker)
except ImportError:  # pragma: no cover - exercised only without the extra
    dask = dd = Client = LocalCluster = default_client = None  # type: ignore[assignment,misc]
    LOST_WORK = ()

EVENT_TABLES = ("transactions", "activities")
LOCAL_WORKERS = 2
SAMPLE_TRAIN_ROWS = 200_000  # training rows brought to the client for the baselines
PLAN_SAMPLE_ROWS = 20_000  # rows of the first part the table's conventions are decided from


def available() -> bool:
    return dd is not None


# ------------------------------------------------------------------------------------------- cluster
@contextlib.contextmanager
def session(scheduler: str | None = None, workers: int = LOCAL_WORKERS) -> Iterator[Any]:
    """A client on `scheduler`, or on a LocalCluster of `workers` processes on this machine."""
    if not available():
        raise PotentialError(
            "the dask engine needs the dask extra: pip install 'potential[dask]' (or use --engine pandas)."
        )
    import lightgbm

    logger = logging.getLogger("lightgbm")
    logger.setLevel(logging.ERROR)
    lightgbm.register_logger(logger)  # its info lines and warnings go to logging, not stdout
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise PotentialError(
                f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({exc}); check the address "
                "(tcp://host:8786) or leave --scheduler out to start a local cluster."
            ) from None
        with client:
            yield client
        return
    with (
        dask.config.set({"distributed.worker.daemon": False}),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: several clusters may run on one machine
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(_quiet_process)  # LightGBM's network setup prints to the workers' stdout
        yield client


def _quiet_process() -> None:
    """Send a local worker's stdout to /dev/null: the command's own output is the client's."""
    import os
    import sys

    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


# ------------------------------------------------------------------------------------------- data
@dataclass
class DaskData:
    """Validated input: the accounts on the client, the events bucketed by account on the cluster."""

    accounts: pd.DataFrame
    events: dict[str, dd.DataFrame]  # table -> frame indexed by bucket, one partition per bucket
    labels: pd.DataFrame | None
    buckets: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    digests: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)  # table -> file or folder name
    # results held on the workers (persisted, scattered): referenced here for the whole command, so the
    # scheduler never forgets one that a task submitted later still needs
    held: list[Any] = field(default_factory=list, repr=False)

    def hold(self, *objects: Any) -> None:
        self.held.extend(objects)

    @property
    def has_history(self) -> bool:
        return "transactions" in self.events

    @property
    def transactions(self) -> dd.DataFrame | None:
        return self.events.get("transactions")

    @property
    def activities(self) -> dd.DataFrame | None:
        return self.events.get("activities")

    def first_date(self) -> pd.Timestamp | None:
        return self.first

    def last_date(self) -> pd.Timestamp | None:
        return self.last

    def digest(self) -> str:
        return Dataset(self.accounts, None, None, None, digests=self.digests).digest()

    def account_parts(self) -> list[pd.DataFrame]:
        """The accounts table split into the same buckets as the events."""
        bucket = bucket_of(self.accounts[ID], self.buckets)
        order = np.argsort(bucket, kind="stable")  # one pass, whatever the number of buckets
        bounds = np.searchsorted(bucket[order], np.arange(self.buckets + 1))
        return [
            self.accounts.iloc[order[bounds[b] : bounds[b + 1]]].reset_index(drop=True)
            for b in range(self.buckets)
        ]


def bucket_of(ids: pd.Series, buckets: int) -> np.ndarray:
    """A stable bucket per account id (the same in every process and every run)."""
    hashed = pd.util.hash_pandas_object(ids.astype(str), index=False).to_numpy()
    return (hashed % np.uint64(buckets)).astype(np.int64)


def event_source(folder: Path, stem: str) -> list[Path]:
    """The file, or the files of a partitioned folder (`transactions/part-*.parquet`), holding a table."""
    path = find_table(folder, stem)
    return [] if path is None else table_parts(path)


class Unnamed(NamedTuple):
    """A table's first rows without an account id (of the sample of its first part), the file's name of
    its id column when it is not ours, and the line of the first row: what the note or refusal on such rows
    quotes."""

    rows: list[int]
    source: str | None
    first_row: int = 2


def _read_events(
    files: list[Path], table: str, config: Config, notes: list[str]
) -> tuple[dd.DataFrame, Unnamed]:
    """The table's partitions, each cleaned like the pandas engine cleans the whole file, and the first rows
    of the first part without an account id (`Unnamed`).

    The conventions (decimal separator, day/month order) are decided once, from a sample of the first
    part, and applied to every partition; the sample also checks the header (a column we read named twice
    is refused) and the encoding of its rows. The rest of each file is decoded where it is read: a bad byte
    there is reported when the events are first computed (see `load`). Rows without an account id stay in
    every part with an empty one (`clean_table`'s `keep_unnamed`): `load` counts them over the whole table.
    """
    source = files[0].parent if len(files) > 1 else files[0]
    name = source.name
    notes.extend(layout_notes(source, config.data))
    sep, named = csv_layout(files[0], config.data.encoding, config.data.delimiter, config.data.header)
    sample = read_raw(
        files[0], config.data.encoding, PLAN_SAMPLE_ROWS, config.data.delimiter, named, notes=notes
    )
    first_row = 2 if named else 1
    with rows_numbered_from(first_row):
        plan = plan_table(sample, Path(name), table, config.data, notes)
    if files[0].suffix == ".parquet":
        raw = dd.read_parquet([str(p) for p in files])
    elif files[0].suffix == WORKBOOK_SUFFIX:  # one workbook, one partition read on a worker (its sheets
        # hold at most 1M rows each; the sample's read noted which sheets are read)
        raw = dd.from_delayed([dask.delayed(read_raw)(files[0], header=named)], meta=sample.head(0))
    else:
        raw = dd.read_csv(
            [str(p) for p in files],
            dtype=str,
            keep_default_na=False,
            na_values=[],
            sep=sep,
            blocksize=None if files[0].name.endswith(".gz") else "64MB",
            encoding=codec_for(config.data.encoding),
            **({} if named else {"header": None, "names": list(sample.columns)}),
        )
    # duplicates are only whole within a bucket: they are dropped there (_tidy_bucket)
    data = config.data.model_copy(update={"duplicate_rows": "keep"})
    clean = partial(
        _clean_numbered,
        first_row,
        path=Path(name),
        table=table,
        config=data,
        plan=plan,
        categories=False,
        keep_unnamed=True,
    )
    meta = clean(sample, notes=[]).head(0)
    first = Unnamed(
        unnamed_rows(sample, Path(name), table, config.data)[:3].tolist(),
        column_map(sample.columns, table, config.data).get(ID),
        first_row,
    )
    return raw.map_partitions(lambda part: clean(part, notes=[]), meta=meta), first


def _clean_numbered(first_row: int, raw: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    """`clean_table` of a part whose messages number rows from `first_row` (1 in a file without a header)."""
    with rows_numbered_from(first_row):
        return clean_table(raw, **kwargs)


def _drop_unnamed(
    events: dict[str, dd.DataFrame], first: dict[str, Unnamed], names: dict[str, str], config: Config
) -> tuple[dict[str, dd.DataFrame], list[str]]:
    """The events without their rows that have no account id (`data.blank_ids: drop`), counted over each
    whole table as the pandas engine counts them in its file: refused when they are most of the rows (the id
    column is likely mapped wrong), else left out with a note. `first`: the first such rows of each table's
    first part (the note's examples)."""
    if config.data.blank_ids != "drop" or not events:
        return events, []  # under refuse every part refuses its own
    tables = list(events)
    counts = dask.compute(
        *[(events[t][ID] == "").sum() for t in tables], *[events[t].shape[0] for t in tables]
    )
    out, notes = dict(events), []
    for i, table in enumerate(tables):
        blank, total = int(counts[i]), int(counts[len(tables) + i])
        if not blank:
            continue
        rows, source, first_row = first[table]
        with rows_numbered_from(first_row):
            if blank > MAX_BLANK_ID_SHARE * total:
                raise unnamed_refusal(Path(names[table]), table, source, "drop", blank, total, rows)
            notes.append(unnamed_note(names[table], blank, rows))
        out[table] = events[table][events[table][ID] != ""]
    return out, notes


def _meta_rows(raw: dd.DataFrame, name: str) -> pd.DataFrame:
    head = raw.head(50, npartitions=-1)
    if len(head) == 0:
        raise InputError(f"{name}: the table has no rows; export it with its data.")
    return head


def load(folder: Path, config: Config, buckets: int | None = None) -> DaskData:
    """Read and validate the tables; events are bucketed by account across the cluster."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: data folder not found; pass --data with the folder holding the tables.")
    check_mapped_tables(folder, config.data)
    paths = table_sources(folder, config.data)
    check_row_ids(paths, config.data)
    notes: list[str] = []
    digests: dict[str, str] = {}
    sources: dict[str, str] = {}
    raw_events: dict[str, dd.DataFrame] = {}
    first_unnamed: dict[str, Unnamed] = {}
    for table in EVENT_TABLES:
        source = paths.get(table)
        if source is not None:
            digests[table] = file_digest(source)
            sources[table] = source.name
            raw_events[table], first_unnamed[table] = _read_events(table_parts(source), table, config, notes)
    tables: dict[str, pd.DataFrame] = {}
    for table in ("accounts", "labels"):
        path = paths.get(table)
        if path is not None:
            digests[table] = file_digest(path)
            sources[table] = path.name
            tables[table] = read_table(path, table, config.data, notes)
    if "transactions" not in raw_events and not {"accounts", "labels"} <= set(tables):
        raise no_tables_error(folder)
    n = buckets or max([2 * _workers(), *(frame.npartitions for frame in raw_events.values())])
    # read, validated and bucketed once; every later step starts from the events held by the workers
    events = {table: _bucketed(frame, n, config).persist() for table, frame in raw_events.items()}
    try:
        events, left_out = _drop_unnamed(events, first_unnamed, sources, config)
    except UnicodeDecodeError:  # a bad byte after the sample the conventions were decided from
        raise _undecodable(folder, config, list(raw_events)) from None
    notes += left_out
    purchases = events["transactions"]["amount"] if "transactions" in events else None
    try:
        computed = dask.compute(*[frame[ID].unique() for frame in events.values()])
        if purchases is not None:
            rows, positive, zero = dask.compute(purchases.size, (purchases > 0).sum(), (purchases == 0).sum())
    except UnicodeDecodeError:  # a bad byte after the sample the conventions were decided from
        raise _undecodable(folder, config, list(raw_events)) from None
    if purchases is not None and not positive:
        sample = pd.DataFrame({"amount": [0.0] * int(zero) + [-1.0] * int(rows - zero)})
        check_purchases(sample, Path(sources["transactions"]))
    ids = set().union(*(set(v) for v in computed)) if computed else set()
    accounts = tables.get("accounts")
    if accounts is None:
        labelled = set(tables["labels"][ID]) if "labels" in tables else set()
        accounts = pd.DataFrame({ID: sorted(ids | labelled)})
    else:
        extra = ids - set(accounts[ID])
        if extra:
            notes.append(
                f"{len(extra)} account id(s) in the events are not in accounts (e.g. "
                f"{', '.join(sorted(extra)[:3])}); kept with an empty profile."
            )
            accounts = pd.concat([accounts, pd.DataFrame({ID: sorted(extra)})], ignore_index=True)
    accounts = accounts.sort_values(ID, kind="mergesort").reset_index(drop=True)
    first = last = None
    if "transactions" in events:
        first, last = dask.compute(events["transactions"]["date"].min(), events["transactions"]["date"].max())
        no_tx = len(set(accounts[ID]) - ids)
        if no_tx:
            notes.append(f"{no_tx} account(s) have no transactions; they are scored as prospects.")
    notes += unplaced_labels_note(
        tables.get("labels"), sources.get("labels", "labels"), "transactions" in events
    )
    return DaskData(accounts, events, tables.get("labels"), n, first, last, digests, tuple(notes), sources)


def _undecodable(folder: Path, config: Config, tables: list[str]) -> InputError:
    """The error naming the first event file with a byte the configured codec cannot decode."""
    codec = codec_for(config.data.encoding)
    for table in tables:
        for path in event_source(folder, config.data.tables.get(table, table)):
            if path.suffix == ".parquet":
                continue
            try:
                with open(path, encoding=codec) as handle:
                    while handle.read(1 << 20):
                        pass
            except UnicodeDecodeError:
                return encoding_error(path, config.data.encoding, codec)
    return InputError(
        f"{folder}: an events file cannot be decoded as {codec}; set data.encoding in the config."
    )


def _workers() -> int:
    try:
        return max(len(default_client().scheduler_info()["workers"]), 1)
    except ValueError:  # no client: the local threaded scheduler
        return 1


def _bucketed(frame: dd.DataFrame, buckets: int, config: Config) -> dd.DataFrame:
    keyed = frame.assign(_bucket=frame[ID].map_partitions(_event_buckets, buckets, meta=(ID, "int64")))
    out = keyed.set_index("_bucket", divisions=list(range(buckets + 1)))
    policy = config.data.duplicate_rows
    return out.map_partitions(_tidy_bucket, policy, meta=out._meta)


def _event_buckets(ids: pd.Series, buckets: int) -> np.ndarray:
    """`bucket_of` each event's account; rows without an id (left out after they are counted) are dealt
    round the buckets, not all hashed into one."""
    out = bucket_of(ids, buckets)
    blank = (ids == "").to_numpy(dtype=bool)
    if blank.any():
        out[blank] = np.arange(int(blank.sum())) % buckets
    return out


def _tidy_bucket(part: pd.DataFrame, policy: str) -> pd.DataFrame:
    """One bucket's events in the order the pandas engine keeps them (date, then account)."""
    if policy == "drop":
        part = part[~part.duplicated()]
    return part.sort_values(["date", ID], kind="mergesort")


def _partition_dataset(accounts: pd.DataFrame, tx: pd.DataFrame | None, act: pd.DataFrame | None) -> Dataset:
    def plain(frame):
        return None if frame is None else frame.reset_index(drop=True)

    return Dataset(accounts, plain(tx), plain(act), None)


# ------------------------------------------------------------------------------------------- features
def feature_plan(data: DaskData, as_of: pd.Timestamp) -> FeaturePlan:
    kinds = None
    if data.activities is not None:
        parts = data.activities.map_partitions(kind_counts, as_of, meta=pd.Series(dtype="int64"))
        counts = parts.compute()
        kinds = top_kinds(counts.groupby(level=0).sum()) if len(counts) else ()
    return FeaturePlan(category_levels(data.accounts), kinds)


def _delayed_parts(data: DaskData) -> list[tuple[Any, Any, Any]]:
    accounts: list[Any] = data.account_parts()
    with contextlib.suppress(ValueError):  # on a cluster: shipped once, not embedded in every graph
        accounts = default_client().scatter(accounts)
        data.hold(*accounts)
    tx = data.transactions.to_delayed() if data.transactions is not None else [None] * data.buckets
    act = data.activities.to_delayed() if data.activities is not None else [None] * data.buckets
    return list(zip(accounts, tx, act, strict=True))


def _local_part(
    accounts: pd.DataFrame,
    tx: pd.DataFrame | None,
    act: pd.DataFrame | None,
    cutoffs: Sequence[pd.Timestamp],
    as_of: pd.Timestamp,
    config: Config,
    plan: FeaturePlan,
    labels: bool,
    label_end: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, dict[pd.Timestamp, np.ndarray]]:
    """One bucket: per-account features (+ labels) at each cutoff, and its share of the deal sums.

    `label_end`: the first day the data does not cover, for the labels (default `as_of`, see `labels_at`).
    """
    prepared = prepare(_partition_dataset(accounts, tx, act), as_of, config.features, plan)
    curve = buying_curve(prepared, label_end) if labels and prepared.transactions is not None else None
    frames, sums = [], {}
    for cutoff in cutoffs:
        local = local_features(prepared, cutoff)
        if labels:
            # every account stays until the peer statistics are done: they are over all accounts
            y = labels_at(prepared, cutoff, config, curve=curve)
            local = local.join(y).assign(labelled=local.index.isin(y.index))
        local = local.assign(cutoff=cutoff)
        frames.append(local.reset_index())
        if prepared.transactions is not None:
            sums[cutoff] = deal_sums(prepared.transactions, cutoff)
    return pd.concat(frames, ignore_index=True), sums


def _peer_part(local: pd.DataFrame, pools: dict[pd.Timestamp, set[str]]) -> pd.DataFrame:
    """Peer rows of one bucket, per cutoff, with the effective group decided on the whole portfolio."""
    parts = []
    for key, rows in local.groupby("cutoff", sort=True):
        cutoff = pd.Timestamp(key)  # type: ignore[arg-type]
        frame = rows.set_index(ID)
        spend, groups, customer = peer_inputs(frame)
        egroup = effective_groups(groups.astype(str), pools.get(cutoff, set()))
        out = peer_rows(spend.astype(float), egroup, customer).reset_index()
        parts.append(out.assign(cutoff=cutoff))
    if not parts:
        return pd.DataFrame({ID: [], "egroup": [], "spend": [], "member": [], "cutoff": []})
    return pd.concat(parts, ignore_index=True)


def _group_counts(local: pd.DataFrame) -> pd.DataFrame:
    frame = local.set_index(ID)
    _, groups, customer = peer_inputs(frame)
    keep = customer.to_numpy()
    return (
        pd.DataFrame(
            {"cutoff": frame["cutoff"].to_numpy()[keep], "group": groups.astype(str).to_numpy()[keep]}
        )
        .value_counts()
        .rename("n")
        .reset_index()
    )


def _peer_table(rows: pd.DataFrame) -> pd.DataFrame:
    table = group_peer_table(rows.set_index(ID))
    return table.reset_index().assign(cutoff=pd.Timestamp(rows.name[0]))  # the group key: (cutoff, egroup)


def _btyd_part(local: pd.DataFrame) -> pd.DataFrame:
    """BG/NBD inputs of one bucket's customers, per cutoff (3 numbers a customer: gathered for the fit)."""
    parts = [
        btyd_inputs(rows.set_index(ID)).assign(cutoff=c) for c, rows in local.groupby("cutoff", sort=True)
    ]
    return pd.concat(parts) if parts else pd.DataFrame(columns=["frequency", "recency", "T", "cutoff"])


def _finish_part(
    local: pd.DataFrame,
    peers: pd.DataFrame | None,
    deals: dict[pd.Timestamp, float],
    models: dict[pd.Timestamp, Any],
    extra: list[str],
) -> pd.DataFrame:
    """Join the cross-account statistics; columns in the pandas engine's order, then cutoff and labels."""
    out = []
    groups: list[tuple[Any, pd.DataFrame]] = list(local.groupby("cutoff", sort=True))
    if not groups:  # a bucket no account hashed into: an empty table with every column of the others
        groups = [(min(deals) if deals else pd.NaT, local)]
    for key, rows in groups:
        cutoff = pd.Timestamp(key)
        frame = rows.set_index(ID)
        tail = frame[extra]
        frame = frame.drop(columns=extra)
        if peers is not None:
            frame = with_peers(frame, peers[peers["cutoff"] == cutoff].set_index(ID), deals[cutoff])
            frame = with_btyd(frame, models.get(cutoff))
        out.append(pd.concat([frame, tail], axis=1).reset_index())
    return pd.concat(out, ignore_index=True)


def features(
    data: DaskData,
    cutoffs: Sequence[pd.Timestamp],
    as_of: pd.Timestamp,
    config: Config,
    labels: bool = False,
    label_end: pd.Timestamp | None = None,
) -> dd.DataFrame:
    """The feature table (+ labels) at each cutoff: columns account_id, features, cutoff [, labels].

    Value for value the table the pandas engine builds; one partition per account bucket. `label_end`:
    the first day the data does not cover, when the labels may read past `as_of` (outcomes).
    """
    plan = feature_plan(data, as_of)
    calls = [
        dask.delayed(_local_part)(accounts, tx, act, tuple(cutoffs), as_of, config, plan, labels, label_end)
        for accounts, tx, act in _delayed_parts(data)
    ]
    calls = list(dask.persist(*calls))  # both outputs of a bucket from one run of its builders
    data.hold(*calls)
    locals_ = [call[0] for call in calls]
    meta = dask.compute(locals_[0])[0].head(0)
    extra = [c for c in meta.columns if c in ("cutoff", "labelled", *LABEL_COLUMNS)]
    deals: dict[pd.Timestamp, float] = {}
    models: dict[pd.Timestamp, Any] = {}
    peers: list[Any] = [None] * len(locals_)
    if data.has_history:
        sums, counts, inputs = dask.compute(
            [call[1] for call in calls],
            [dask.delayed(_group_counts)(p) for p in locals_],
            [dask.delayed(_btyd_part)(p) for p in locals_],
        )
        inputs = pd.concat(inputs)
        models = {
            pd.Timestamp(c): fit_btyd(rows.drop(columns="cutoff")) for c, rows in inputs.groupby("cutoff")
        }
        deals = {c: average_deal(np.sum([s[c] for s in sums], axis=0)) for c in cutoffs}
        count = pd.concat(counts, ignore_index=True).groupby(["cutoff", "group"])["n"].sum()
        pools = {
            pd.Timestamp(c): peer_pools(count.xs(c, level="cutoff")) for c in count.index.unique("cutoff")
        }
        rows = dd.from_delayed(
            [dask.delayed(_peer_part)(p, pools) for p in locals_], meta=PEER_ROWS_META, verify_meta=False
        )
        table = rows.groupby(["cutoff", "egroup"]).apply(_peer_table, meta=PEER_TABLE_META)
        table = table.assign(_bucket=table[ID].map_partitions(bucket_of, data.buckets, meta=(ID, "int64")))
        peers = table.set_index("_bucket", divisions=list(range(data.buckets + 1))).to_delayed()
    finished = [
        dask.delayed(_finish_part)(local, peer, deals, models, extra)
        for local, peer in zip(locals_, peers, strict=True)
    ]
    finished = list(dask.persist(*finished))
    data.hold(*finished)
    # the column types of a bucket that has accounts (an empty one's columns may be typed otherwise)
    sizes = dask.compute(*[dask.delayed(len)(part) for part in finished])
    first = dask.compute(finished[next((i for i, n in enumerate(sizes) if n), 0)])[0]
    return dd.from_delayed(finished, meta=first.head(0), verify_meta=False)


LABEL_COLUMNS = ("churn", "expansion", "horizon_spend", "previous_spend", "baseline_spend", "uplift")
PEER_ROWS_META = pd.DataFrame(
    {
        ID: pd.Series(dtype=object),
        "egroup": pd.Series(dtype=object),
        "spend": pd.Series(dtype=float),
        "member": pd.Series(dtype=bool),
        "cutoff": pd.Series(dtype="datetime64[ns]"),
    }
)
PEER_TABLE_META = pd.DataFrame(
    {
        ID: pd.Series(dtype=object),
        **{c: pd.Series(dtype=float) for c in PEER_COLUMNS},
        "cutoff": pd.Series(dtype="datetime64[ns]"),
    }
)


# ------------------------------------------------------------------------------------------- output
def write_parts(parts: Sequence[Any], path: Path) -> int:
    """Write one Parquet file per partition into the folder `path`, as one set: all parts or none; rows written.

    Workers write into a temporary folder beside `path` (on a real cluster `path` must be on storage
    every worker sees); the folder then replaces `path` in one rename.
    """
    import shutil
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        writes = [
            dask.delayed(_write_part)(part, tmp / f"part-{i:05d}.parquet") for i, part in enumerate(parts)
        ]
        rows = sum(dask.compute(*writes))
        interrupt.check()  # a stop asked for while the parts were written leaves `path` as it was
        tmp.chmod(0o755)
        swap_into(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def _write_part(frame: pd.DataFrame, path: Path) -> int:
    frame.reset_index(drop=True).to_parquet(path, index=False)
    return len(frame)


# ------------------------------------------------------------------------------------------- training
class DaskBoosters:
    """Boosters trained by lightgbm.dask on the train slice where it lies (one partition per bucket).

    Distributed LightGBM cannot stop early (each worker sees only its share of a validation set), so the
    number of trees is chosen afterwards on the calibration slice, as early stopping would have.
    """

    def __init__(self, train: dd.DataFrame, client: Client, labelled: dd.DataFrame | None = None):
        self.train = train
        self.client = client
        self.labelled = train if labelled is None else labelled  # every slice, for `refit`

    def train_labels(self, target: str) -> np.ndarray:
        return self.train[target].dropna().compute().to_numpy()

    def classifier(
        self,
        target: str,
        spec,
        params: dict[str, Any],
        config: Config,
        valid: tuple[pd.DataFrame, np.ndarray],
    ):
        from lightgbm.dask import DaskLGBMClassifier

        rows = self.train[~self.train[target].isna()]
        weight = None
        if config.training.class_weight == "balanced":
            weight = _balanced(rows[target], float(self.train_labels(target).mean()))
        model = DaskLGBMClassifier(client=self.client, **_sklearn_params(params, config))
        model.fit(_encoded(rows, spec), rows[target].astype(int), sample_weight=weight, **_categorical(spec))
        return choose_iteration(model.booster_, valid[0], valid[1], "binary")

    def refit(self, target: str, spec, params: dict[str, Any], config: Config, rounds: int):
        from lightgbm.dask import DaskLGBMClassifier

        rows = self.labelled[~self.labelled[target].isna()]
        weight = None
        if config.training.class_weight == "balanced":
            weight = _balanced(rows[target], float(rows[target].mean().compute()))
        model = DaskLGBMClassifier(
            client=self.client, **{**_sklearn_params(params, config), "n_estimators": rounds}
        )
        model.fit(_encoded(rows, spec), rows[target].astype(int), sample_weight=weight, **_categorical(spec))
        return model.booster_

    def uplift_regressor(
        self, spec, params: dict[str, Any], config: Config, valid: tuple[pd.DataFrame, np.ndarray]
    ):
        from lightgbm.dask import DaskLGBMRegressor

        rows = self.train[self.train["expansion"] == 1]
        y = rows["uplift"].clip(lower=0).map_partitions(np.log1p, meta=("uplift", float))
        model = DaskLGBMRegressor(client=self.client, **_sklearn_params(params, config))
        model.fit(_encoded(rows, spec), y, **_categorical(spec))
        return choose_iteration(model.booster_, valid[0], valid[1], "regression")


def _balanced(labels: dd.Series, positive_rate: float) -> dd.Series:
    """`balanced_weights` of distributed labels, each partition against the rate of them all."""
    return labels.map_partitions(
        lambda y: pd.Series(balanced_weights(y.to_numpy(), positive_rate), index=y.index),
        meta=(labels.name, float),
    )


def _sklearn_params(params: dict[str, Any], config: Config) -> dict[str, Any]:
    out = {k: v for k, v in params.items() if k not in ("num_threads", "seed")}
    return {
        **out,
        "n_estimators": config.training.lightgbm.n_estimators,
        "random_state": config.seed,
        "n_jobs": 1,
    }


def _encoded(rows: dd.DataFrame, spec) -> dd.DataFrame:
    meta = pd.DataFrame({c: pd.Series(dtype=float) for c in spec.model_columns})
    return rows.map_partitions(spec.encode, meta=meta)


def _categorical(spec) -> dict[str, Any]:
    return {"categorical_feature": spec.model_categories} if spec.categories else {}


def choose_iteration(booster, X_val: pd.DataFrame, y_val: np.ndarray, objective: str, step: int = 10):
    """Set `best_iteration` to the tree count with the lowest validation loss (checked every `step` trees)."""
    total = booster.current_iteration()
    if len(X_val) == 0 or total == 0:
        return booster
    raw = np.zeros(len(X_val))
    best, best_loss = total, np.inf
    for start in range(0, total, step):
        raw += booster.predict(
            X_val, raw_score=True, start_iteration=start, num_iteration=min(step, total - start)
        )
        if objective == "binary":
            p = np.clip(1 / (1 + np.exp(-raw)), 1e-12, 1 - 1e-12)
            loss = -np.mean(y_val * np.log(p) + (1 - y_val) * np.log(1 - p))
        else:
            loss = float(np.mean((raw - y_val) ** 2))
        if loss < best_loss - 1e-12:
            best, best_loss = min(start + step, total), loss
    booster.best_iteration = best
    return booster


def training_set(data: DaskData, as_of: pd.Timestamp, config: Config, client: Client):
    """The training set built on the cluster: calibration and test slices (and a sample of training rows
    for the baselines) come to the client; the train slice stays where it is, for `DaskBoosters`."""
    if not data.has_history:
        dataset = Dataset(data.accounts, None, None, data.labels)
        return profile_training_set(dataset, as_of, config), None
    assert data.first is not None  # there are transactions
    plan = plan_cutoffs(data.first, as_of, config)
    order = [(name, c) for name in SLICES for c in plan[name]]
    frame = features(data, [c for _, c in order], as_of, config, labels=True)
    frame = frame[frame["labelled"]].drop(columns="labelled")
    slice_of = {c: name for name, c in order}
    frame = frame.assign(slice=frame["cutoff"].map(slice_of, meta=("cutoff", object)))
    if data.labels is not None and "as_of" in data.labels.columns:
        frame = frame.map_partitions(_override_labels, data.labels, meta=frame._meta)
    frame = frame.persist()
    data.hold(frame)
    train = frame[frame["slice"] == "train"]
    n_train = int(train.shape[0].compute())
    share = min(1.0, SAMPLE_TRAIN_ROWS / max(n_train, 1))
    sample = train.sample(frac=share, random_state=config.seed) if share < 1 else train
    local = dd.concat([frame[frame["slice"] != "train"], sample]).compute()
    rank = {key: i for i, key in enumerate(order)}
    local = local.assign(_order=[rank[(s, c)] for s, c in zip(local["slice"], local["cutoff"], strict=True)])
    local = local.sort_values(["_order", ID], kind="mergesort")
    key = pd.MultiIndex.from_arrays([local[ID], local["cutoff"]], names=[ID, "cutoff"])
    label_columns = [c for c in LABEL_COLUMNS if c in local.columns]
    feature_columns = [c for c in local.columns if c not in {ID, "cutoff", "slice", "_order", *label_columns}]
    feats = local[feature_columns].set_axis(key)
    labels = local[label_columns].set_axis(key)
    ts = TrainingSet(feats, labels, local["slice"].set_axis(key), plan, "history")
    return ts, DaskBoosters(train, client, labelled=frame)


def _override_labels(part: pd.DataFrame, given: pd.DataFrame) -> pd.DataFrame:
    key = pd.MultiIndex.from_arrays([part[ID], part["cutoff"]], names=[ID, "cutoff"])
    columns = [c for c in ("churn", "expansion") if c in part.columns]
    labels = part[columns].set_axis(key)
    out = apply_label_overrides(labels, given)
    return part.assign(**{c: out[c].to_numpy() for c in columns})


# ------------------------------------------------------------------------------------------- scoring
@dataclass
class ScoredParts:
    """`scoring.accounts.AccountScores` with the long tables left on the cluster, one part per bucket."""

    table: pd.DataFrame
    explanations: list[Any]
    rating: list[Any]
    drivers: list[Any]
    notes: list[str]


def _score_part(accounts, tx, act, feats: pd.DataFrame, as_of, champions, config, profile):
    dataset = _partition_dataset(accounts, tx, act)
    frame = feats.drop(columns="cutoff").set_index(ID)
    return score_accounts(dataset, frame, as_of, champions, config, profile)


def score(data: DaskData, as_of: pd.Timestamp, champions: dict, config: Config, profile) -> ScoredParts:
    """Score, explain and rate every bucket where it lies; the one-row-per-account table comes back."""
    feats = features(data, [as_of], as_of, config).to_delayed()
    models = dask.delayed(champions)  # one copy in the graph, shipped once per worker
    parts = [
        dask.delayed(_score_part)(accounts, tx, act, f, as_of, models, config, profile)
        for (accounts, tx, act), f in zip(_delayed_parts(data), feats, strict=True)
    ]
    parts = list(dask.persist(*parts))
    data.hold(*parts)
    tables, notes = dask.compute([p.table for p in parts], [p.notes for p in parts])
    table = pd.concat(tables, ignore_index=True).sort_values(ID, kind="mergesort", ignore_index=True)
    unique_notes = list(dict.fromkeys(n for part in notes for n in part))
    return ScoredParts(
        table,
        [p.explanations for p in parts],
        [p.rating for p in parts],
        [p.drivers for p in parts],
        unique_notes,
    )


def _only(frame: pd.DataFrame, keep: set[str]) -> pd.DataFrame:
    return frame[frame[ID].isin(keep)]


def _history_part(accounts, tx, act, as_of, keep: set[str]) -> pd.DataFrame:
    dataset = _partition_dataset(accounts, tx, act)
    ids = pd.Index(sorted(set(dataset.accounts[ID]) & keep))
    return monthly_history(dataset, as_of, ids)


def write_report_inputs(
    scored: ScoredParts, data: DaskData, as_of: pd.Timestamp, keep: set[str], exports: Path
) -> list[Path]:
    """The report's inputs for the exported accounts, as partitioned Parquet folders."""
    wanted = dask.delayed(keep)
    paths = []
    for name, parts in (
        ("explanations", scored.explanations),
        ("rating", scored.rating),
        ("drivers", scored.drivers),
    ):
        write_parts([dask.delayed(_only)(p, wanted) for p in parts], exports / f"{name}.parquet")
        paths.append(exports / f"{name}.parquet")
    history = [
        dask.delayed(_history_part)(accounts, tx, act, as_of, wanted)
        for accounts, tx, act in _delayed_parts(data)
    ]
    write_parts(history, exports / "history.parquet")
    paths.append(exports / "history.parquet")
    return paths


# ------------------------------------------------------------------------------------------- the engine
def raise_lost_work(exc: BaseException) -> None:
    """A task the cluster lost: a stop asked for mid-computation, or a worker that died."""
    interrupt.check()  # a stop can cancel the tasks in flight: report it as the stop it is
    raise PotentialError(
        f"the Dask cluster lost work it was doing ({type(exc).__name__}: {exc}); nothing was written. "
        "Rerun; if it happens again, give the workers more memory or use fewer, larger machines."
    ) from None


def _before(part: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    return part[part["date"] < as_of]


class DaskEngine:
    """The engine protocol (`potential.engines.Engine`) on a Dask cluster reached through `client`."""

    name = "dask"

    def __init__(self, config: Config, client: Client):
        self.config = config
        self.client = client

    def load(self, folder: Path) -> DaskData:
        return load(folder, self.config)

    def tables(self, data: DaskData) -> list[TableSummary]:
        counts = dict(
            zip(data.events, dask.compute(*[f.shape[0] for f in data.events.values()]), strict=True)
        )
        out = []
        for table, source in data.sources.items():
            if table in data.events:
                frame = data.events[table]
                unread = unread_columns(table, list(frame.columns))
                out.append(TableSummary(table, source, int(counts[table]), len(frame.columns), unread))
            else:
                local = data.labels if table == "labels" and data.labels is not None else data.accounts
                unread = unread_columns(table, list(local.columns))
                out.append(TableSummary(table, source, len(local), local.shape[1], unread))
        return out

    def truncated(self, data: DaskData, as_of: pd.Timestamp) -> DaskData:
        events = {
            table: frame.map_partitions(_before, as_of, meta=frame._meta).persist()
            for table, frame in data.events.items()
        }
        cut = DaskData(
            data.accounts, events, data.labels, data.buckets, data.first, data.last, data.digests, data.notes
        )
        cut.hold(*events.values(), *data.held)
        return cut

    def features(self, data: DaskData, as_of: pd.Timestamp) -> pd.DataFrame:
        table = features(data, [as_of], as_of, self.config).drop(columns="cutoff").compute()
        interrupt.check()
        return table.sort_values(ID, kind="mergesort").set_index(ID)

    def write_features(self, data: DaskData, as_of: pd.Timestamp, out: Path) -> tuple[int, int]:
        from potential.data.io import write_table

        table = features(data, [as_of], as_of, self.config).drop(columns="cutoff")
        if Path(out).suffix == ".csv":  # one file for spreadsheets: the table comes to the client
            frame = table.compute().sort_values(ID, ignore_index=True)
            interrupt.check()
            write_table(frame, out)
            return len(frame), frame.shape[1] - 1
        interrupt.check()
        return write_parts(table.to_delayed(), Path(out)), table.shape[1] - 1

    def training_set(
        self, data: DaskData, as_of: pd.Timestamp, progress: Any = None
    ) -> tuple[TrainingSet, Any]:
        return training_set(data, as_of, self.config, self.client)

    def score(self, data: DaskData, as_of: pd.Timestamp, champions: dict[str, Any], profile: Any) -> Scored:
        parts = score(data, as_of, champions, self.config, profile)
        return Scored(parts.table, parts.notes, parts)

    def outcomes(self, data: DaskData, as_of: pd.Timestamp) -> pd.DataFrame:
        end = data_end(data.last) if data.last is not None else None
        table = features(data, [as_of], as_of, self.config, labels=True, label_end=end)
        columns = [c for c in LABEL_COLUMNS if c in table.columns]
        local = table[table["labelled"]][[ID, *columns]].compute()
        return local.sort_values(ID, kind="mergesort").set_index(ID)

    def transactions_before(self, data: DaskData, as_of: pd.Timestamp) -> pd.DataFrame:
        if data.transactions is None:
            return pd.DataFrame({ID: [], "date": pd.to_datetime([]), "amount": []})
        tx = data.transactions  # three columns a transaction come to the client for the BG/NBD fit
        past = tx[tx["date"] < as_of][[ID, "date", "amount"]].compute()
        return past.sort_values(["date", ID], kind="mergesort", ignore_index=True)

    def write_report_inputs(
        self, scored: Scored, data: DaskData, as_of: pd.Timestamp, keep: set[str], exports: Path
    ) -> list[Path]:
        return write_report_inputs(scored.parts, data, as_of, keep, exports)
