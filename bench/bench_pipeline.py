"""fastring.split / write_split rows of PERF.md: 1e6 rows, 16 nodes, str key column,
against lookup_many plus each library's own grouping (and pyarrow's write_dataset).

    python bench/bench_pipeline.py [--rows 1000000] [--repeats 5]

Prints a table and writes bench/results/pipeline.json. Times are per row.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
from common import run_cases

from fastring import HashRing, split, write_split

NODES = [f"node-{i}" for i in range(16)]
FILES = [f"node-{i}" for i in range(64)]


def cases(n: int, _pure_n: int):
    keys = [f"user:{i}" for i in range(n)]
    values = np.arange(n)
    ring = HashRing(NODES)
    frame = pd.DataFrame({"k": keys, "v": values})
    table = pa.table({"k": keys, "v": values})
    polars_frame = pl.DataFrame({"k": keys, "v": values})

    def pandas_groupby():
        index = ring.lookup_many(frame["k"])
        return {ring.nodes[j]: part for j, part in frame.groupby(index)}

    def arrow_argsort():
        index = ring.lookup_many(table.column("k"))
        order = np.argsort(index, kind="stable")
        gathered = table.take(order)
        bounds = np.concatenate([[0], np.cumsum(np.bincount(index, minlength=len(NODES)))]).tolist()
        return {ring.nodes[j]: gathered.slice(bounds[j], bounds[j + 1] - bounds[j]) for j in range(len(NODES))}

    def polars_partition_by():
        index = ring.lookup_many(polars_frame["k"])
        return polars_frame.with_columns(pl.Series("node", index)).partition_by("node", as_dict=True)

    yield (
        "split pandas DataFrame vs lookup_many + groupby",
        {
            "fastring split": (lambda: split(frame, ring, on="k"), n),
            "lookup_many + pandas groupby": (pandas_groupby, n),
        },
        ("fastring split", "lookup_many + pandas groupby"),
        "≥ 1.5×",
    )
    yield (
        "split polars DataFrame vs lookup_many + partition_by",
        {
            "fastring split": (lambda: split(polars_frame, ring, on="k"), n),
            "lookup_many + polars partition_by": (polars_partition_by, n),
        },
        ("fastring split", "lookup_many + polars partition_by"),
        "≥ 1.0×",
    )
    yield (
        "split pyarrow Table vs lookup_many + argsort + take",
        {
            "fastring split": (lambda: split(table, ring, on="k"), n),
            "lookup_many + argsort + take": (arrow_argsort, n),
        },
        ("fastring split", "lookup_many + argsort + take"),
        "≥ 1.5×",
    )
    ring64 = HashRing(FILES)
    routed = table.append_column("node", pa.array([ring64.nodes[j] for j in ring64.lookup_many(keys).tolist()]))
    root = tempfile.mkdtemp(prefix="fastring-bench-")

    def ours():
        out = os.path.join(root, "ours")
        shutil.rmtree(out, ignore_errors=True)
        write_split(table, ring64, os.path.join(out, "{node}.parquet"), on="k")

    def dataset():
        out = os.path.join(root, "dataset")
        shutil.rmtree(out, ignore_errors=True)
        ds.write_dataset(routed, out, format="parquet", partitioning=["node"], existing_data_behavior="overwrite_or_ignore")

    yield (
        "write_split 64 Parquet files vs pyarrow.dataset.write_dataset(partitioning=...) (routed)",
        {
            "fastring write_split": (ours, n),
            "pyarrow write_dataset": (dataset, n),
        },
        ("fastring write_split", "pyarrow write_dataset"),
        "≥ 1.5×",
    )


def stages(n: int, repeats: int) -> dict:
    """Where split and write_split spend their time: route / group / gather / write
    (ms per call, best of ``repeats``), per table library; written to
    results/pipeline-stages.json."""
    import time

    from fastring.pipeline import _plan, _write_parts, group_rows

    keys = [f"user:{i}" for i in range(n)]
    values = np.arange(n)
    ring = HashRing(NODES)
    tables = {
        "pandas": pd.DataFrame({"k": keys, "v": values}),
        "pyarrow": pa.table({"k": keys, "v": values}),
        "polars": pl.DataFrame({"k": keys, "v": values}),
    }
    root = tempfile.mkdtemp(prefix="fastring-bench-")

    def best(fn):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times) * 1e3

    result = {}
    for kind, data in tables.items():
        column = data["k"] if kind != "pyarrow" else data.column("k")
        index = ring.lookup_many(column)
        order, offsets = group_rows(index, len(NODES))
        plan = _plan(data, ring, "k", None, "split")
        out = os.path.join(root, kind, "{node}.parquet")
        result[kind] = {
            "route": best(lambda: ring.lookup_many(column)),
            "group": best(lambda: group_rows(index, len(NODES))),
            "gather (one take)": best(lambda: data.take(order) if kind != "polars" else data[order]),
            "split (all)": best(lambda: split(data, ring, on="k")),
            "gather + write 16 Parquet files": best(
                lambda: _write_parts(plan, data, out, "parquet", min(8, os.cpu_count() or 1), True, False)
            ),
        }
    shutil.rmtree(root, ignore_errors=True)
    print(f"\ntime split, ms per call ({n:,} rows, {len(NODES)} nodes)")
    for kind, row in result.items():
        print(f"  {kind:<8} " + "  ".join(f"{stage} {ms:7.1f}" for stage, ms in row.items()))
    from common import machine

    path = os.path.join(os.path.dirname(__file__), "results", "pipeline-stages.json")
    import json

    with open(path, "w") as f:
        json.dump({"machine": machine(), "rows": n, "nodes": len(NODES), "stages": result}, f, indent=2)
    print("wrote", path)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run_cases("pipeline", cases(args.rows, 0), args.repeats, unit="ns/row")
    stages(args.rows, args.repeats)


if __name__ == "__main__":
    main()
