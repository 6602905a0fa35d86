"""fastring.split: tables in, one part per node out, for pandas, pyarrow and polars."""

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastring import HashRing, JumpRouter, Maglev, MementoRouter, Rendezvous, node_names, split
from fastring._implementation import use_twin
from fastring.pipeline import group_rows

NODES = [f"node-{i}" for i in range(7)]
KEYS = [f"user:{i}" for i in range(500)]
ROUTERS = [HashRing(NODES), Maglev(NODES), Rendezvous(NODES), MementoRouter(NODES), JumpRouter(NODES)]


def tables(keys):
    values = np.arange(len(keys))
    return {
        "pandas": pd.DataFrame({"k": keys, "v": values}),
        "arrow": pa.table({"k": keys, "v": values}),
        "batch": pa.record_batch({"k": pa.array(keys), "v": pa.array(values)}),
        "polars": pl.DataFrame({"k": keys, "v": values}),
    }


def column_v(part):
    if isinstance(part, pd.DataFrame):
        return part["v"].tolist()
    if isinstance(part, (pa.Table, pa.RecordBatch)):
        return part.column("v").to_pylist()
    return part["v"].to_list()


@pytest.mark.parametrize("router", ROUTERS, ids=lambda r: type(r).__name__)
@pytest.mark.parametrize("kind", ["pandas", "arrow", "batch", "polars"])
def test_each_part_holds_its_nodes_rows_in_input_order(twin, router, kind):
    data = tables(KEYS)[kind]
    index = router.lookup_many(KEYS)
    parts = split(data, router, on="k")
    assert list(parts) == [n for j, n in enumerate(router.nodes) if (index == j).any()]  # node order
    for name, part in parts.items():
        assert type(part) is type(data) or (kind == "batch" and isinstance(part, pa.RecordBatch))
        j = router.nodes.index(name)
        assert column_v(part) == np.flatnonzero(index == j).tolist()
    assert sum(len(p) for p in parts.values()) == len(KEYS)


def test_key_columns_give_row_numbers_and_precomputed_indices_work(twin):
    ring = HashRing(NODES)
    index = ring.lookup_many(KEYS)
    for keys in (KEYS, np.array(KEYS, dtype=object), pa.array(KEYS), pd.Series(KEYS)):
        parts = split(keys, ring)
        assert {n: p.tolist() for n, p in parts.items()} == {
            n: np.flatnonzero(index == j).tolist() for j, n in enumerate(ring.nodes) if (index == j).any()
        }
    assert {n: p.tolist() for n, p in split(KEYS, index, nodes=ring.nodes).items()} == {
        n: p.tolist() for n, p in split(KEYS, ring).items()
    }


def test_empty_parts_only_when_asked(twin):
    ring = HashRing(NODES)
    few = KEYS[:3]
    assert len(split(few, ring)) <= 3
    every = split(few, ring, keep_empty=True)
    assert list(every) == list(ring.nodes) and sum(len(p) for p in every.values()) == 3
    parts = split(tables(few)["arrow"], ring, on="k", keep_empty=True)
    assert all(isinstance(p, pa.Table) for p in parts.values())


@settings(max_examples=50, deadline=None)
@given(index=st.lists(st.integers(0, 9), max_size=300), extra=st.integers(0, 3))
def test_group_rows_twins_agree_with_a_stable_sort(index, extra):
    index = np.array(index, dtype=np.int32)
    n_nodes = 10 + extra
    expected_order = np.argsort(index, kind="stable")
    expected_offsets = np.concatenate([[0], np.cumsum(np.bincount(index, minlength=n_nodes))])
    for name in ("cython", "python"):
        with use_twin(name):
            order, offsets = group_rows(index, n_nodes)
        assert order.tolist() == expected_order.tolist() and offsets.tolist() == expected_offsets.tolist()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: split(tables(KEYS)["pandas"], HashRing(NODES), on="nope"), KeyError, "no column 'nope'"),
        (lambda: split(tables(KEYS)["polars"], HashRing(NODES)), TypeError, "needs on="),
        (lambda: split(pd.DataFrame({"k": ["a", None]}), HashRing(NODES), on="k"), ValueError, "position 1"),
        (lambda: split(pa.table({"k": ["a", None]}), HashRing(NODES), on="k"), ValueError, "position 1"),
        (lambda: split(KEYS, HashRing()), ValueError, "no nodes"),
        (lambda: split(KEYS, np.zeros(3, np.int32), nodes=NODES), ValueError, "3 node indices for 500 rows"),
        (lambda: split(["a", "b"], np.array([0, 9]), nodes=NODES), ValueError, "row 1 has node index 9"),
        (lambda: split(["a"], np.array([0])), TypeError, "nodes="),
        (lambda: split(["a"], np.array([0.5]), nodes=NODES), TypeError, "integer array"),
        (lambda: split(KEYS, HashRing(NODES), on="k"), TypeError, "key column itself"),
    ],
)
def test_bad_input(twin, call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_group_rows_refuses_bad_indices_in_both_twins(compiled):
    for module in compiled["routers"]:
        order, offsets = np.empty(2, np.int64), np.empty(3, np.int64)
        assert module.group_rows(np.array([0, 2], np.int32), 2, order, offsets) == 1
        assert module.group_rows(np.array([-1, 0], np.int32), 2, order, offsets) == 0
        with pytest.raises(ValueError):
            module.group_rows(np.array([0], np.int32), 2, np.empty(1, np.int64), np.empty(2, np.int64))
        with pytest.raises(ValueError):
            module.group_rows(np.array([0], np.int32), 2, np.empty(2, np.int64), offsets)


# -- write_split -----------------------------------------------------------------------

import pyarrow.csv as pcsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from fastring import pipeline, write_split  # noqa: E402


@pytest.mark.parametrize("kind", ["pandas", "arrow", "polars"])
@pytest.mark.parametrize("format, read", [("parquet", pq.read_table), ("csv", pcsv.read_csv)])
@pytest.mark.parametrize("threads", [1, None])
def test_write_split_writes_each_nodes_rows(tmp_path, twin, kind, format, read, threads):
    ring = HashRing(NODES)
    index = ring.lookup_many(KEYS)
    written = write_split(tables(KEYS)[kind], ring, str(tmp_path / "out" / ("part-{node}." + format)), on="k",
                          format=format, threads=threads)
    assert set(written) == {n for j, n in enumerate(ring.nodes) if (index == j).any()}
    for name, path in written.items():
        assert path == str(tmp_path / "out" / f"part-{name}.{format}")
        table = read(path)
        assert table.column("v").to_pylist() == np.flatnonzero(index == ring.nodes.index(name)).tolist()
        assert table.column("k").to_pylist() == [KEYS[i] for i in table.column("v").to_pylist()]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"part-{n}.{format}" for n in written
    )  # no temporary files left


def test_write_split_refuses_to_overwrite_and_bad_templates(tmp_path):
    ring = HashRing(NODES)
    df = tables(KEYS)["pandas"]
    template = str(tmp_path / "{node}.parquet")
    write_split(df, ring, template, on="k")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_split(df, ring, template, on="k")
    write_split(df, ring, template, on="k", overwrite=True)
    with pytest.raises(ValueError, match=r"template with \{node\}"):
        write_split(df, ring, str(tmp_path / "x.parquet"), on="k")
    with pytest.raises(ValueError, match="unknown format"):
        write_split(df, ring, template, on="k", format="xlsx")
    with pytest.raises(TypeError, match="needs a table"):
        write_split(KEYS, ring, template)
    for bad in ("a/b", "..", "c:d", " e"):
        with pytest.raises(ValueError, match="not a safe file name"):
            write_split(df, HashRing([bad]), template, on="k", overwrite=True)
    with pytest.raises(ValueError, match="would both write"):
        write_split(df, np.arange(len(KEYS)) % 2, template, on="k", nodes=["1", 1], overwrite=True)


def test_write_split_leaves_no_file_behind_on_error(tmp_path, monkeypatch):
    ring = HashRing(NODES)
    real = pipeline._write
    calls = []

    def failing(part, path, format, dictionary=None):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        real(part, path, format, dictionary)

    monkeypatch.setattr(pipeline, "_write", failing)
    with pytest.raises(OSError, match="disk full"):
        write_split(tables(KEYS)["arrow"], ring, str(tmp_path / "{node}.parquet"), on="k", threads=1)
    assert list(tmp_path.iterdir()) == []
    calls.clear()
    with pytest.raises(OSError, match="disk full"):  # the same with parallel writers
        write_split(tables(KEYS)["pandas"], ring, str(tmp_path / "{node}.parquet"), on="k", threads=4)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- node_names


@pytest.mark.parametrize("router", ROUTERS, ids=lambda r: type(r).__name__)
def test_node_names_are_categoricals_of_the_routers_nodes(twin, router):
    expected = [router.lookup(k) for k in KEYS]
    frame = pd.DataFrame({"k": KEYS}, index=pd.RangeIndex(1000, 1000 + len(KEYS)))
    named = node_names(frame, router, on="k")
    assert isinstance(named.dtype, pd.CategoricalDtype) and named.name == "node"
    assert list(named.cat.categories) == list(router.nodes)  # every node, used or not
    assert named.tolist() == expected and named.index.equals(frame.index)
    assert node_names(frame["k"], router).tolist() == expected
    assert node_names(KEYS, router).tolist() == expected  # plain columns: pandas
    arrow = node_names(pa.table({"k": KEYS}), router, on="k")
    assert isinstance(arrow, pa.DictionaryArray) and arrow.dictionary.to_pylist() == list(router.nodes)
    assert arrow.to_pylist() == expected
    assert node_names(pa.array(KEYS), router).to_pylist() == expected
    polars = node_names(pl.DataFrame({"k": KEYS}), router, on="k")
    assert polars.dtype == pl.Enum(list(router.nodes)) and polars.to_list() == expected
    assert node_names(KEYS, router, to="polars").to_list() == expected
    assert node_names(pl.Series(KEYS), router, to="arrow").to_pylist() == expected


def test_node_names_bad_input(twin):
    ring = HashRing(NODES)
    with pytest.raises(ValueError, match="to must be one of"):
        node_names(KEYS, ring, to="numpy")
    with pytest.raises(TypeError, match="str node names"):
        node_names(KEYS, HashRing([1, 2]), to="polars")
    with pytest.raises(KeyError, match="no column 'x'"):
        node_names(pd.DataFrame({"k": KEYS}), ring, on="x")
    with pytest.raises(ValueError, match="no nodes"):
        node_names(KEYS, HashRing([]))


@pytest.mark.parametrize("kind", ["pandas", "arrow", "batch", "polars"])
def test_parts_gathered_in_threads_equal_one_thread(twin, monkeypatch, kind):
    from fastring import _threads

    monkeypatch.setattr(_threads, "MIN_KEYS_PER_THREAD", 10)
    data = tables(KEYS)[kind]
    ring = HashRing(NODES)
    one = split(data, ring, on="k", threads=1)
    for threads in (2, 5):
        many = split(data, ring, on="k", threads=threads)
        assert list(many) == list(one)
        for name in one:
            assert column_v(many[name]) == column_v(one[name])
            if kind == "pandas":
                assert many[name].index.equals(one[name].index)
    with pytest.raises(ValueError, match="threads must be a positive int"):
        split(data, ring, on="k", threads=0)


def test_parquet_files_skip_dictionaries_only_for_mostly_distinct_text(tmp_path):
    import pyarrow.parquet as pq

    from fastring import write_split

    n = 2_000
    data = pa.table({"k": [f"user:{i}" for i in range(n)], "tier": ["gold", "free"] * (n // 2), "v": np.arange(n)})
    written = write_split(data, HashRing(NODES[:2]), str(tmp_path / "{node}.parquet"), on="k")
    for path in written.values():
        meta = pq.ParquetFile(path).metadata.row_group(0)
        encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
        assert not any("DICTIONARY" in e for e in encodings["k"])  # unique ids: plain
        assert any("DICTIONARY" in e for e in encodings["tier"])  # two values: a dictionary
        assert any("DICTIONARY" in e for e in encodings["v"])  # non-text: Parquet's default
    assert sum(pq.read_table(p).num_rows for p in written.values()) == n
