"""fastring.dask on a real distributed.LocalCluster with two worker processes.

Every router crosses a process boundary by pickling; the workers run the twin under
test (FASTRING_IMPLEMENTATION in their environment), and every answer is compared with
routing the same rows locally.
"""

import os

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

import fastring  # noqa: E402
from fastring import HashRing, JumpRouter, Maglev, MementoRouter, Rendezvous, split, write_split  # noqa: E402
from fastring.dask import assign, shard  # noqa: E402
from fastring.dask import write_split as dask_write_split  # noqa: E402

NODES = [f"node-{i}" for i in range(6)]


@pytest.fixture(scope="module")
def cluster(twin_name):
    # A loaded machine can take longer than the default 30 s to start a worker.
    with dask.config.set({"distributed.comm.timeouts.connect": "90s"}), distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env={"FASTRING_IMPLEMENTATION": twin_name},
    ) as cluster, distributed.Client(cluster) as client:
        live = client.run(lambda: __import__("fastring").IMPLEMENTATION)
        assert sorted(live.values()) == [twin_name, twin_name]  # two processes on the twin
        yield client


def routers():
    memento = MementoRouter(NODES + ["spare"])
    memento.remove("spare")
    return [HashRing(NODES), Maglev(NODES), Rendezvous(NODES), memento, JumpRouter(NODES), HashRing(NODES, compat="ketama")]


def frame(n=2_000, int_keys=False):
    keys = np.arange(n, dtype=np.int64) * 7919 if int_keys else [f"user:{i}" for i in range(n)]
    return pd.DataFrame({"k": keys, "v": np.arange(n)}, index=pd.Index(np.arange(n) * 3 + 1, name="row"))


@pytest.mark.parametrize("router", routers(), ids=lambda r: f"{type(r).__name__}")
@pytest.mark.parametrize("int_keys", [False, True], ids=["str", "int"])
def test_partition_i_holds_exactly_node_is_rows(cluster, router, int_keys):
    ddf = dd.from_pandas(frame(int_keys=int_keys), npartitions=5)
    local = ddf.compute()  # the rows as Dask holds them (its string dtype)
    sharded = shard(ddf, router, on="k")
    assert sharded.npartitions == len(router.nodes)
    expected = split(local, router, on="k", keep_empty=True)
    parts = dict(zip(router.nodes, cluster.gather(cluster.compute(sharded.to_delayed()))))
    for name, part in parts.items():
        # Only node i's rows, all of them, in input order, with their index and dtypes.
        pd.testing.assert_frame_equal(part, expected[name])
    assert sum(len(p) for p in parts.values()) == len(local)


def test_empty_nodes_get_empty_partitions(cluster):
    ring = HashRing([f"n{i}" for i in range(40)])
    ddf = dd.from_pandas(frame(30), npartitions=3)
    sharded = shard(ddf, ring, on="k")
    assert sharded.npartitions == 40
    lengths = sharded.map_partitions(len).compute().tolist()
    assert lengths == np.bincount(ring.lookup_many(frame(30)["k"]), minlength=40).tolist()
    assert 0 in lengths


def test_assign_adds_node_names_as_categories(cluster):
    ring = Maglev(NODES)
    ddf = dd.from_pandas(frame(), npartitions=4)
    out = assign(ddf, ring, on="k").compute()
    assert isinstance(out["node"].dtype, pd.CategoricalDtype)
    assert list(out["node"].cat.categories) == NODES
    assert out["node"].tolist() == [ring.lookup(k) for k in out["k"]]
    renamed = assign(ddf, ring, on="k", column="shard").compute()
    assert renamed["shard"].tolist() == out["node"].tolist()


def test_the_graph_keeps_the_router_it_was_built_with(cluster):
    ring = HashRing(NODES)
    ddf = dd.from_pandas(frame(), npartitions=3)
    before = assign(ddf, ring, on="k")
    expected = [ring.lookup(k) for k in ddf["k"].compute()]
    ring.remove("node-0")
    assert before.compute()["node"].tolist() == expected


@pytest.mark.parametrize("format, read", [("parquet", pq.read_table), ("csv", None)])
def test_write_split_writes_one_file_per_node_from_the_workers(cluster, tmp_path, format, read):
    ring = Rendezvous(NODES)
    local = frame()
    ddf = dd.from_pandas(local, npartitions=4)
    template = str(tmp_path / "out" / f"part-{{node}}.{format}")
    written = write_split(ddf, ring, template, on="k", format=format)  # the top-level call delegates
    expected = split(local, ring, on="k")
    assert list(written) == list(expected)
    for name, path in written.items():
        assert path == template.replace("{node}", name)
        if read is not None:
            got = read(path).column("v").to_pylist()
        else:
            got = pd.read_csv(path)["v"].tolist()
        assert got == expected[name]["v"].tolist()
    assert sorted(os.listdir(tmp_path / "out")) == sorted(os.path.basename(p) for p in written.values())
    with pytest.raises(FileExistsError, match="overwrite=True"):
        dask_write_split(ddf, ring, template, on="k", format=format)
    assert dask_write_split(ddf, ring, template, on="k", format=format, overwrite=True) == written


def test_a_null_key_fails_naming_its_row_and_leaves_no_file(cluster, tmp_path):
    local = frame(100)
    local["k"] = local["k"].astype(object)
    local.loc[local.index[57], "k"] = None
    ddf = dd.from_pandas(local, npartitions=3)
    with pytest.raises(ValueError, match=r"null key at index 172 of partition 1"):
        dask_write_split(ddf, HashRing(NODES), str(tmp_path / "{node}.parquet"), on="k")
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="null key at index 172"):
        assign(ddf, HashRing(NODES), on="k").compute()


def test_bad_arguments_are_refused_before_any_work(tmp_path):
    ddf = dd.from_pandas(frame(10), npartitions=2)
    ring = HashRing(NODES)
    with pytest.raises(KeyError, match="no column 'x'"):
        shard(ddf, ring, on="x")
    with pytest.raises(ValueError, match="no nodes"):
        shard(ddf, HashRing([]), on="k")
    with pytest.raises(ValueError, match="already has a column 'v'"):
        assign(ddf, ring, on="k", column="v")
    with pytest.raises(TypeError, match="dask.dataframe.DataFrame"):
        shard(frame(10), ring, on="k")
    with pytest.raises(TypeError, match="router must be a router"):
        assign(ddf, [0, 1], on="k")
    with pytest.raises(ValueError, match=r"\{node\}"):
        dask_write_split(ddf, ring, str(tmp_path / "out.parquet"), on="k")
    with pytest.raises(ValueError, match="not a safe file name"):
        dask_write_split(ddf, HashRing(["a/b"]), str(tmp_path / "{node}.parquet"), on="k")
    with pytest.raises(TypeError, match="fastring.dask"):
        split(ddf, ring, on="k")
    with pytest.raises(TypeError, match="fastring.dask.assign"):
        ring.lookup_many(ddf["k"])
    assert os.listdir(tmp_path) == []
    assert fastring.dask.__all__ == ["assign", "shard", "write_split"]
