"""Pandas engine vs dask engine (2-worker LocalCluster on this machine): features at one as-of, same files.

Both engines read the same Parquet files; the dask figure includes starting nothing (the cluster is up
before the clock starts) but does include reading, bucketing the events by account and the peer shuffle.
On one 2-core machine the dask engine pays for process hops at small sizes; at large ones its two worker
processes start to win over pandas' one.

    python benchmarks/bench_engines.py [--accounts 100000 1000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from potential.config import Config
from potential.data.schema import load_dataset
from potential.engines import dask_engine
from potential.features.build import build_features
from potential.synthetic.portfolio import DEFAULT_END, generate_portfolio, write_portfolio


def time_engines(accounts: int, client, seed: int = 3) -> dict[str, object]:
    as_of = (DEFAULT_END - pd.Timedelta(days=30)).normalize()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        portfolio = generate_portfolio(accounts, months=24, seed=seed)
        events = len(portfolio.transactions) + len(portfolio.activities)
        write_portfolio(portfolio, folder, fmt="parquet")
        del portfolio
        config = Config()
        started = time.perf_counter()
        expected = build_features(load_dataset(folder, config.data), as_of, config.features)
        pandas_seconds = time.perf_counter() - started

        config = Config(engine="dask")
        started = time.perf_counter()
        data = dask_engine.load(folder, config)
        frame = dask_engine.features(data, [as_of], as_of, config)
        rows = int(sum(len(part) for part in client.gather(client.compute(frame.to_delayed()))))
        dask_seconds = time.perf_counter() - started
    assert rows == len(expected)
    return {
        "accounts": f"{accounts:,}",
        "events": f"{events:,}",
        "buckets": data.buckets,
        "pandas_s": round(pandas_seconds, 1),
        "dask_s": round(dask_seconds, 1),
        "dask_vs_pandas": f"{dask_seconds / pandas_seconds:.2f}x",
    }


def main(accounts: tuple[int, ...] = (100_000, 1_000_000)) -> list[dict[str, object]]:
    rows = []
    with dask_engine.session() as client:
        for n in accounts:
            rows.append(time_engines(n, client))
            print(rows[-1], flush=True)
    print(pd.DataFrame(rows).to_string(index=False))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100_000, 1_000_000])
    main(tuple(parser.parse_args().accounts))
