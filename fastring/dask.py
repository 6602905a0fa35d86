"""Route a Dask DataFrame: one partition per node, a node column, one file per node.

Dask's own ``shuffle(on=...)`` hashes the column it is given, so shuffling on a
precomputed node number still scatters nodes over partitions. :func:`shard` instead
gives every row its node index and hands it to ``set_index`` with the explicit
divisions ``(0, 1, ..., n)``: Dask places a row in partition ``i`` when its value lies
in ``[i, i + 1)``, so partition ``i`` holds exactly node ``i``'s rows (empty partitions
included), through whichever shuffle Dask is configured with (tasks or p2p).

The router is frozen (copied) when the graph is built and travels to the workers once,
as one task's result, not once per partition; routers pickle as their nodes and
parameters (about a kilobyte for 64 nodes) and are rebuilt where they land.

Needs ``dask[dataframe]`` (``pip install 'fastring-shard[dask]'``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .pipeline import _check_template, _remove, _targets, _temporary, _write, frozen_router, is_router

__all__ = ["assign", "shard", "write_split"]

# Working columns, present only while a graph runs.
_NODE = "__fastring_node__"
_ROW = "__fastring_row__"
_INDEX = "__fastring_index__"
# A row's place in the input: (input partition << _ROW_BITS) | position in it.
_ROW_BITS = 40


def _dask() -> Any:
    try:
        import dask
        import dask.dataframe  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("fastring.dask needs dask: pip install 'fastring-shard[dask]'") from None
    return dask


def _check(ddf: Any, router: Any, on: Any, *, taken: tuple[Any, ...] = ()) -> tuple[Any, tuple[Any, ...]]:
    """(a frozen copy of the router, its node names) after checking the arguments."""
    dask = _dask()
    if not isinstance(ddf, dask.dataframe.DataFrame):
        raise TypeError(f"expected a dask.dataframe.DataFrame, got {type(ddf).__name__}")
    if not is_router(router):
        raise TypeError(f"router must be a router (with nodes and lookup_many), got {type(router).__name__}")
    if on is None or on not in ddf.columns:
        shown = ", ".join(repr(c) for c in list(ddf.columns)[:10])
        raise KeyError(f"no column {on!r} to route on; the columns are {shown}")
    for column in taken:
        if column in ddf.columns:
            raise ValueError(f"the DataFrame already has a column {column!r}; choose another name")
    return frozen_router(router)  # later changes do not reach the graph


def _node_index(df: Any, router: Any, on: Any, partition: int | None) -> np.ndarray:
    """int32 node index of every row of one pandas partition; a null names its row."""
    keys = df[on]
    nulls = np.flatnonzero(np.asarray(keys.isna(), dtype=bool))
    if len(nulls):
        where = f" of partition {partition}" if partition is not None else ""
        label = df.index[nulls[0]]
        label = label.item() if isinstance(label, np.generic) else label
        raise ValueError(f"column {on!r} has a null key at index {label!r}{where}: nulls cannot be routed")
    return np.asarray(router.lookup_many(keys), dtype=np.int32)


def _partition_number(partition_info: Any) -> int | None:
    return None if partition_info is None else int(partition_info["number"])


# --------------------------------------------------------------------------- assign


def _assign_part(df: Any, router: Any, on: Any, column: str, names: tuple[Any, ...], partition_info: Any = None) -> Any:
    import pandas as pd

    index = _node_index(df, router, on, _partition_number(partition_info))
    nodes = pd.Categorical.from_codes(index, categories=pd.Index(list(names), dtype=object))
    return df.assign(**{column: pd.Series(nodes, index=df.index)})


def assign(ddf: Any, router: Any, *, on: Any, column: str = "node") -> Any:
    """Add each row's node name as a categorical column (categories: the router's nodes).

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
    router
        Any router; a frozen copy goes into the graph.
    on : column name
        The key column.
    column : str
        The name of the new column (an error if it exists).

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd
    >>> from fastring import HashRing
    >>> from fastring.dask import assign
    >>> ring = HashRing(["a", "b", "c"])
    >>> ddf = dd.from_pandas(pd.DataFrame({"user": [f"u{i}" for i in range(8)]}), npartitions=2)
    >>> out = assign(ddf, ring, on="user").compute()
    >>> out["node"].tolist() == [ring.lookup(u) for u in out["user"]]
    True
    """
    dask = _dask()
    frozen, names = _check(ddf, router, on, taken=(column,))
    meta = _assign_part(ddf._meta, frozen, on, column, names)
    shipped = dask.delayed(frozen, pure=True)
    return ddf.map_partitions(_assign_part, shipped, on, column, names, meta=meta)


# --------------------------------------------------------------------------- shard


def _tag_part(df: Any, router: Any, on: Any, partition_info: Any = None) -> Any:
    """The partition with its node index, its rows' input places and its index as columns."""
    partition = _partition_number(partition_info) or 0
    index = _node_index(df, router, on, partition)
    rows = (np.int64(partition) << np.int64(_ROW_BITS)) + np.arange(len(df), dtype=np.int64)
    tagged = df.assign(**{_NODE: index, _ROW: rows})
    tagged[_INDEX] = df.index
    return tagged.reset_index(drop=True)


def _restore_part(df: Any, index_name: Any) -> Any:
    """Rows back in input order, the original index back, the working columns gone."""
    df = df.sort_values(_ROW, kind="stable").set_index(_INDEX).drop(columns=[_ROW])
    df.index.name = index_name
    return df


def shard(ddf: Any, router: Any, *, on: Any) -> Any:
    """Repartition ``ddf`` so that partition ``i`` holds exactly node ``i``'s rows.

    The result has ``len(router.nodes)`` partitions (a node without rows gets an empty
    one), the columns and index of ``ddf``, and within each partition the rows in input
    order (input partition by input partition). It is lazy, like any Dask shuffle.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
    router
        Any router; a frozen copy goes into the graph, and partition ``i`` is
        ``router.nodes[i]`` as it was at this call.
    on : column name
        The key column. A null key fails the computation, naming its index and partition.

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd
    >>> from fastring import HashRing
    >>> from fastring.dask import shard
    >>> ring = HashRing(["a", "b", "c"])
    >>> ddf = dd.from_pandas(pd.DataFrame({"user": [f"u{i}" for i in range(30)]}), npartitions=4)
    >>> sharded = shard(ddf, ring, on="user")
    >>> sharded.npartitions
    3
    >>> part = sharded.get_partition(1).compute()
    >>> {ring.lookup(u) for u in part["user"]} == {ring.nodes[1]}
    True
    """
    dask = _dask()
    frozen, names = _check(ddf, router, on, taken=(_NODE, _ROW, _INDEX))
    shipped = dask.delayed(frozen, pure=True)
    meta = _tag_part(ddf._meta, frozen, on)
    tagged = ddf.map_partitions(_tag_part, shipped, on, meta=meta)
    # Value i lies in [i, i + 1): partition i (the last one is closed, [n - 1, n]).
    placed = tagged.set_index(_NODE, divisions=list(range(len(names) + 1)))
    return placed.map_partitions(_restore_part, ddf.index.name, meta=ddf._meta, clear_divisions=True)


# --------------------------------------------------------------------------- files


def _write_part(part: Any, temporary: str, format: str) -> int:
    if len(part) == 0:
        return 0
    _write(part, temporary, format)
    return len(part)


def write_split(
    ddf: Any, router: Any, path: str, *, on: Any, format: str = "parquet", overwrite: bool = False
) -> dict[str, Any]:
    """Write one file per node from a Dask DataFrame: partition ``i`` of :func:`shard`.

    Each worker writes the partitions it holds; ``path`` (a template with ``{node}``)
    must be on a file system that the workers and the caller share. Files are written
    under temporary names and renamed when all succeeded, so an error leaves no output
    file behind. Nodes without rows get no file.

    Returns
    -------
    dict
        node name -> the path written, in node order.

    Examples
    --------
    >>> import os, tempfile
    >>> import dask.dataframe as dd, pandas as pd
    >>> from fastring import HashRing
    >>> from fastring.dask import write_split
    >>> ddf = dd.from_pandas(pd.DataFrame({"user": [f"u{i}" for i in range(50)]}), npartitions=3)
    >>> out = tempfile.mkdtemp()
    >>> written = write_split(ddf, HashRing(["a", "b"]), os.path.join(out, "{node}.parquet"), on="user")
    >>> sorted(os.path.basename(p) for p in written.values())
    ['a.parquet', 'b.parquet']
    """
    _check_template(path, format)
    dask = _dask()
    frozen, names = _check(ddf, router, on)
    targets = _targets(path, names, overwrite)
    temporary = [_temporary(target) for target in targets.values()]
    parts = shard(ddf, frozen, on=on).to_delayed()
    writes = [dask.delayed(_write_part)(part, tmp, format) for part, tmp in zip(parts, temporary)]
    try:
        counts = dask.compute(*writes)
    except BaseException:
        _remove(temporary)
        raise
    written = {}
    for (name, target), tmp, count in zip(targets.items(), temporary, counts):
        if count:
            os.replace(tmp, target)
            written[name] = target
    return written
