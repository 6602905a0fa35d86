"""Route a whole table at once: its rows split into one part per node, or one file.

:func:`split` takes a pandas DataFrame, a pyarrow Table or RecordBatch, a polars
DataFrame or a bare key column, routes the ``on`` column with any router, groups the
rows by node with a stable counting sort (one compiled pass to count, one to place,
the GIL released) and gathers each part with the table library's own ``take``: one
gather for the whole table, then zero-copy slices.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import _routers, _threads
from ._keys import table_kind
from ._params import check_int
from ._threads import check_threads

__all__ = ["node_names", "split", "write_split"]


def _column(data: Any, kind: str, on: Any) -> Any:
    if on is None:
        raise TypeError(f"split of a {type(data).__name__} needs on=: the name of the key column")
    names = list(data.columns) if kind != "arrow" else data.schema.names
    if on not in names:
        shown = ", ".join(repr(c) for c in names[:10]) + (", ..." if len(names) > 10 else "")
        raise KeyError(f"no column {on!r} to route on; the columns are {shown}")
    return data[on] if kind != "arrow" else data.column(on)


def _keys_of(data: Any, on: Any, caller: str) -> tuple[str | None, Any]:
    """(table kind or None, the key column) of ``data``."""
    kind = table_kind(data)
    if kind == "dask":
        raise TypeError(
            f"{caller} of a Dask collection: use fastring.dask.shard (one partition per node), "
            "fastring.dask.assign or fastring.dask.write_split"
        )
    if kind is None:
        if on is not None:
            raise TypeError(f"on= names a column of a table; {type(data).__name__} is a key column itself")
        return None, data
    return kind, _column(data, kind, on)


def is_router(router: Any) -> bool:
    return hasattr(router, "lookup_many") and hasattr(router, "nodes")


def frozen_router(router: Any) -> tuple[Any, tuple[Any, ...]]:
    """(a copy of ``router``, its node names): later changes to the router reach neither
    the indices routed with the copy nor the names they point into."""
    frozen = router.copy() if hasattr(router, "copy") else router
    names = tuple(frozen.nodes)
    if not names:
        raise ValueError("the router has no nodes: add a node before routing")
    return frozen, names


def _node_indices(keys: Any, router: Any, nodes: Any) -> tuple[np.ndarray, tuple[Any, ...]]:
    """(int32 node index per row, node names) from a router or precomputed indices."""
    if is_router(router):
        if nodes is not None:
            raise TypeError("nodes= goes with precomputed indices, not with a router")
        frozen, names = frozen_router(router)
        return np.ascontiguousarray(frozen.lookup_many(keys), dtype=np.int32), names
    if nodes is None:
        raise TypeError(
            f"router must be a router (with nodes and lookup_many) or an array of node indices "
            f"with nodes=; got {type(router).__name__}"
        )
    names = tuple(nodes)
    index = np.asarray(router)
    if index.ndim != 1 or index.dtype.kind not in "iu":
        raise TypeError(f"precomputed node indices must be a 1-d integer array, got {index.dtype} of shape {index.shape}")
    if len(index) != len(keys):
        raise ValueError(f"{len(index)} node indices for {len(keys)} rows")
    if len(index) and (int(index.min()) < 0 or int(index.max()) >= len(names)):
        bad = int(np.flatnonzero((index < 0) | (index >= len(names)))[0])
        raise ValueError(f"row {bad} has node index {int(index[bad])}, outside [0, {len(names)})")
    return np.ascontiguousarray(index, dtype=np.int32), names


def group_rows(index: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, offsets): rows of node j are ``order[offsets[j]:offsets[j + 1]]``, in
    input order (a stable counting sort in the live twin's kernel)."""
    n_nodes = check_int(n_nodes, "n_nodes", 0)
    order = np.empty(len(index), dtype=np.int64)
    offsets = np.empty(n_nodes + 1, dtype=np.int64)
    bad = _routers.group_rows(np.ascontiguousarray(index, dtype=np.int32), n_nodes, order, offsets)
    if bad >= 0:
        raise ValueError(f"row {bad} has node index {int(index[bad])}, outside [0, {n_nodes})")
    return order, offsets


def split(
    data: Any, router: Any, *, on: Any = None, nodes: Any = None, keep_empty: bool = False, threads: int | None = None
) -> dict[str, Any]:
    """Split the rows of ``data`` by the node each row's key routes to.

    Parameters
    ----------
    data : pandas DataFrame, pyarrow Table/RecordBatch, polars DataFrame, or a key column
        A table gives parts of the same type; a key column (anything
        :func:`fastring.hash_keys` takes) gives int64 arrays of row numbers.
    router
        Any router (:class:`~fastring.HashRing`, :class:`~fastring.Maglev`,
        :class:`~fastring.Rendezvous`, :class:`~fastring.MementoRouter`, ...), or
        precomputed node indices (a 1-d integer array, one per row) with ``nodes=``.
    on : column name
        The key column of a table.
    nodes : sequence, optional
        The node names that precomputed indices point into.
    keep_empty : bool
        Also return nodes that got no rows (as empty parts).
    threads : int, optional
        Parts of a pandas or pyarrow table gathered in parallel (the takes release
        the GIL); default: the CPU count, at most 8. polars gathers in its own
        threads.

    Returns
    -------
    dict
        node name -> part, in node order. Each part keeps its rows in input order.

    Raises
    ------
    KeyError
        ``on`` is not a column.
    ValueError
        A null key (named by its row), a router with no nodes, an index out of range.

    Examples
    --------
    >>> import pandas as pd
    >>> from fastring import HashRing, split
    >>> df = pd.DataFrame({"user": [f"u{i}" for i in range(6)], "x": range(6)})
    >>> parts = split(df, HashRing(["a", "b"]), on="user")
    >>> sorted(parts), sum(len(p) for p in parts.values())
    (['a', 'b'], 6)
    >>> all(list(p["x"]) == sorted(p["x"]) for p in parts.values())   # input order kept
    True
    """
    workers = _default_threads() if threads is None else check_threads(threads)
    plan = _plan(data, router, on, nodes, "split")
    wanted = plan.wanted(keep_empty)
    part = plan.parts(data)
    if plan.kind not in ("pandas", "arrow") or workers == 1 or len(plan.order) < 2 * _threads.MIN_KEYS_PER_THREAD:
        return {plan.names[j]: part(j) for j in wanted}
    # pandas and pyarrow: each part is its own take (a gather is memory-bound and one
    # thread per call), so the takes spread over threads; they release the GIL.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(workers, len(wanted))) as pool:
        return dict(zip((plan.names[j] for j in wanted), pool.map(part, wanted)))


class _Plan(NamedTuple):
    """A table routed and grouped: rows of node ``j`` are ``order[bounds[j]:bounds[j + 1]]``."""

    kind: str | None
    names: tuple[Any, ...]
    order: np.ndarray
    bounds: list[Any]

    def rows(self, j: int) -> int:
        return int(self.bounds[j + 1] - self.bounds[j])

    def wanted(self, keep_empty: bool = False) -> list[int]:
        return [j for j in range(len(self.names)) if keep_empty or self.rows(j)]

    def parts(self, data: Any) -> Callable[[int], Any]:
        """part(j): node ``j``'s rows of ``data``, in input order."""
        order, bounds = self.order, self.bounds
        if self.kind is None:
            return lambda j: order[bounds[j] : bounds[j + 1]]
        if self.kind == "polars":
            gathered = data[order]  # one gather, in polars' own threads
            return lambda j: gathered.slice(bounds[j], bounds[j + 1] - bounds[j])
        return lambda j: data.take(order[bounds[j] : bounds[j + 1]])  # its own buffers


def _plan(data: Any, router: Any, on: Any, nodes: Any, caller: str) -> _Plan:
    kind, keys = _keys_of(data, on, caller)
    index, names = _node_indices(keys, router, nodes)
    order, offsets = group_rows(index, len(names))
    return _Plan(kind, names, order, offsets.tolist())


def _default_threads() -> int:
    return min(8, os.cpu_count() or 1)


_NAME_KINDS = ("pandas", "arrow", "polars")


def node_names(data: Any, router: Any, *, on: Any = None, nodes: Any = None, to: str | None = None) -> Any:
    """Each row's node *name*, as a categorical column: no Python object per row.

    The categories are the router's nodes in index order and the codes are what
    ``lookup_many`` returns, so this costs one routing pass and one wrap.

    Parameters
    ----------
    data, router, on, nodes
        As for :func:`split`: a table with ``on``, or a key column.
    to : {"pandas", "arrow", "polars"}, optional
        The library of the result; by default the library of ``data`` (pandas for a
        list or a NumPy array).

    Returns
    -------
    pandas.Series (categorical, aligned with a pandas input's index), pyarrow.DictionaryArray, or polars.Series (Enum)
        Named ``"node"`` where the library names columns. A polars result needs str
        node names.

    Examples
    --------
    >>> import pandas as pd
    >>> from fastring import HashRing, node_names
    >>> ring = HashRing(["a", "b", "c"])
    >>> df = pd.DataFrame({"user": ["u1", "u2", "u3", "u4"]})
    >>> names = node_names(df, ring, on="user")
    >>> names.tolist() == [ring.lookup(u) for u in df["user"]]
    True
    >>> list(names.cat.categories)
    ['a', 'b', 'c']
    """
    kind, keys = _keys_of(data, on, "node_names")
    if to is None:  # the library of data (its table kind, or its column's module)
        module = type(data).__module__.split(".")[0]
        to = kind or {"pyarrow": "arrow", "polars": "polars"}.get(module, "pandas")
    if to not in _NAME_KINDS:
        raise ValueError(f"to must be one of {', '.join(map(repr, _NAME_KINDS))}, got {to!r}")
    index, names = _node_indices(keys, router, nodes)
    if to == "pandas":
        pd = _optional("pandas", "pandas")
        values = pd.Categorical.from_codes(index, categories=pd.Index(list(names), dtype=object))
        row_index = data.index if hasattr(data, "index") and type(data).__module__.startswith("pandas") else None
        return pd.Series(values, index=row_index, name="node")
    pa = _optional("pyarrow", "arrow")
    dictionary = pa.DictionaryArray.from_arrays(pa.array(index, type=pa.int32()), pa.array(list(names)))
    if to == "arrow":
        return dictionary
    pl = _optional("polars", "polars")
    if not all(isinstance(name, str) for name in names):
        bad = next(name for name in names if not isinstance(name, str))
        raise TypeError(f"a polars Enum needs str node names; node {bad!r} is a {type(bad).__name__}")
    return pl.Series("node", dictionary, dtype=pl.Enum(list(names)))


def _optional(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(f"this needs {module}: pip install 'fastring-shard[{extra}]'") from None


# --------------------------------------------------------------------------- files

_FORMATS = ("parquet", "csv")
# Characters no file name may hold on some platform we write to (and control codes).
_UNSAFE = re.compile(r'[/\\\x00-\x1f<>:"|?*]')


def _node_path(template: str, name: Any) -> str:
    text = f"{name}"
    if not text or text in (".", "..") or _UNSAFE.search(text) or text != text.strip():
        raise ValueError(
            f"node {name!r} is not a safe file name (no /, \\, :, <>\"|?*, control characters, "
            "surrounding spaces, '.' or '..'): rename the node or write a column per node instead"
        )
    return template.replace("{node}", text)


def _to_arrow(part: Any) -> Any:
    pa = _pyarrow()
    if isinstance(part, (pa.Table, pa.RecordBatch)):
        return part
    if type(part).__module__.startswith("pandas"):
        return pa.Table.from_pandas(part, preserve_index=False)
    return part.to_arrow()  # polars


def _pyarrow() -> Any:
    return _optional("pyarrow", "arrow")


def _check_template(path: Any, format: Any) -> None:
    if not isinstance(path, str) or "{node}" not in path:
        raise ValueError(f"path must be a template with {{node}}, e.g. 'out/part-{{node}}.parquet'; got {path!r}")
    if format not in _FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(_FORMATS)}")


def _targets(path: str, names: Any, overwrite: bool) -> dict[str, Any]:
    """node name -> output path: safe names, one file per node, none in the way."""
    targets = {name: _node_path(path, name) for name in names}
    seen: dict[str, Any] = {}
    for name, target in targets.items():
        if target in seen:
            raise ValueError(f"nodes {seen[target]!r} and {name!r} would both write {target!r}")
        seen[target] = name
        if not overwrite and os.path.exists(target):
            raise FileExistsError(f"{target!r} exists; pass overwrite=True to replace it")
    return targets


def _temporary(target: str) -> str:
    """Where ``target`` is written until every file of the call has succeeded."""
    return f"{target}.fastring-{os.getpid()}-{threading.get_ident()}.tmp"


def _remove(paths: Any) -> None:
    for path in paths:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


#: Rows a column's cardinality is judged on, and the fewest worth judging.
_SAMPLE_ROWS = 1024
_MIN_SAMPLE = 64


def _dictionary_columns(table: Any) -> Any:
    """Parquet's ``use_dictionary``: every column except text/binary ones whose sampled
    values are mostly distinct. Routing keys usually are (user ids): a dictionary of
    them only costs time (it is hashed value by value) and bytes (values plus codes)."""
    pa = _pyarrow()
    import pyarrow.compute as pc

    types = pa.types
    if len(set(table.schema.names)) != len(table.schema.names):
        return True  # names would be ambiguous: keep Parquet's default
    sample = table.slice(0, _SAMPLE_ROWS)
    keep = []
    for field, column in zip(table.schema, sample.columns):
        kind = field.type
        if types.is_nested(kind) or types.is_dictionary(kind):
            return True  # column paths differ from names: keep Parquet's default
        textual = types.is_string(kind) or types.is_large_string(kind) or types.is_binary(kind)
        textual = textual or types.is_large_binary(kind) or _is_view(types, kind)
        if textual and len(column) >= _MIN_SAMPLE and len(pc.unique(column)) > len(column) // 2:
            continue
        keep.append(field.name)
    return True if len(keep) == len(table.schema.names) else keep


def _is_view(types: Any, kind: Any) -> bool:
    views = [getattr(types, name, None) for name in ("is_string_view", "is_binary_view")]  # pyarrow >= 16
    return any(test is not None and test(kind) for test in views)


def _write(part: Any, path: str, format: str, dictionary: Any = None) -> None:
    """Write one part; ``dictionary`` is Parquet's ``use_dictionary`` (default: chosen
    from the part by :func:`_dictionary_columns`)."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    table = _to_arrow(part)
    if format == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path, use_dictionary=_dictionary_columns(table) if dictionary is None else dictionary)
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)


def write_split(
    data: Any,
    router: Any,
    path: str,
    *,
    on: Any = None,
    format: str = "parquet",
    threads: int | None = None,
    overwrite: bool = False,
    nodes: Any = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Write one file per node: the rows of ``data`` that route to it.

    Parameters
    ----------
    data, router, on, nodes
        As for :func:`split` (a table: pandas, pyarrow or polars). A Dask DataFrame
        is written by its workers (:func:`fastring.dask.write_split`).
    path : str
        A template with ``{node}``, e.g. ``"out/users-{node}.parquet"``; directories
        are created. Node names must be safe file names (an error names the first that
        is not).
    format : {"parquet", "csv"}
    threads : int, optional
        Files written in parallel (default: the CPU count, at most 8).
    overwrite : bool
        Replace files that exist; otherwise an existing file is an error.
    progress : bool, optional
        Show a progress line on stderr (default: when stderr is a terminal).

    Returns
    -------
    dict
        node name -> the path written, for the nodes that got rows.

    Every file is written under a temporary name and renamed only when all of them
    succeeded: an error leaves no output file behind.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from fastring import HashRing, write_split
    >>> df = pd.DataFrame({"user": [f"u{i}" for i in range(100)]})
    >>> out = tempfile.mkdtemp()
    >>> written = write_split(df, HashRing(["a", "b"]), os.path.join(out, "{node}.parquet"), on="user")
    >>> sorted(os.path.basename(p) for p in written.values())
    ['a.parquet', 'b.parquet']
    """
    _check_template(path, format)
    if table_kind(data) == "dask":  # written on the workers, one partition per node
        if nodes is not None:
            raise TypeError("nodes= (precomputed indices) does not apply to a Dask DataFrame: pass a router")
        from .dask import write_split as write_dask

        return write_dask(data, router, path, on=on, format=format, overwrite=overwrite)
    if table_kind(data) is None:
        raise TypeError(f"write_split needs a table (pandas, pyarrow or polars), got {type(data).__name__}")
    workers = _default_threads() if threads is None else check_threads(threads)
    _pyarrow()
    plan = _plan(data, router, on, nodes, "write_split")
    return _write_parts(plan, data, path, format, workers, overwrite, progress)


def _write_parts(
    plan: _Plan, data: Any, path: str, format: str, workers: int, overwrite: bool, progress: bool | None
) -> dict[str, Any]:
    """Write each node's rows to its file, ``workers`` at a time, all or nothing. Each
    thread gathers the part it writes, so gathers and writes overlap."""
    wanted = plan.wanted()
    targets = _targets(path, [plan.names[j] for j in wanted], overwrite)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    temporary = {name: _temporary(target) for name, target in targets.items()}
    part = plan.parts(data)
    done = [0]
    dictionary: list[Any] = []  # one Parquet dictionary choice for every file, from the first part
    lock = threading.Lock()

    def write_one(j: int) -> None:
        table = _to_arrow(part(j))
        if format == "parquet":
            with lock:
                if not dictionary:
                    dictionary.append(_dictionary_columns(table))
        _write(table, temporary[plan.names[j]], format, dictionary[0] if dictionary else None)
        if show:
            with lock:
                done[0] += 1
                print(f"\rfastring: wrote {done[0]}/{len(wanted)} files", end="", file=sys.stderr, flush=True)

    try:
        if workers == 1 or len(wanted) < 2:
            for j in wanted:
                write_one(j)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(workers, len(wanted))) as pool:
                for future in [pool.submit(write_one, j) for j in wanted]:
                    future.result()
    except BaseException:
        _remove(temporary.values())
        raise
    finally:
        if show:
            print(file=sys.stderr)
    for name, target in targets.items():
        os.replace(temporary[name], target)
    return targets
