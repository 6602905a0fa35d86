"""``fastring compare`` and ``fastring route`` (the main job and its routing command)."""

import pytest

from fastring.cli import main

ring = pytest.importorskip("fastring.ring")
routers = pytest.importorskip("fastring.routers")

pytestmark = pytest.mark.usefixtures("twin")


def test_compare_table(capsys, twin):
    keys = 20_000 if twin == "cython" else 2_000
    assert main(["compare", "--nodes", "10", "--keys", str(keys)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    table = {line.split()[0]: line.split() for line in lines[3:]}
    assert set(table) == {"ring", "ring-ketama", "jump", "memento", "rendezvous", "maglev"}
    for name in ("ring", "memento", "rendezvous"):
        moved_remove = float(table[name][4].rstrip("%")) / 100
        assert moved_remove == pytest.approx(0.1, abs=0.05), name  # only the removed node's keys
    # Removing a middle node renumbers jump's later buckets: far more than ideal moves.
    assert float(table["jump"][4].rstrip("%")) / 100 > 0.3


def test_compare_rows_are_measured():
    from fastring._cmd_compare import compare_routers

    rows = compare_routers(8, 4000, seed=1, repeats=1)
    for row in rows:
        assert row["ns_per_key"] > 0 and row["build_ms"] >= 0 and row["memory_kib"] > 0
        assert 1.0 <= row["peak_to_mean"] < 3.0
        assert row["ideal_remove"] == pytest.approx(1 / 8)
        assert row["ideal_add"] == pytest.approx(1 / 9)
        assert row["moved_add"] >= 0
    with pytest.raises(ValueError, match="at least 2 nodes"):
        compare_routers(1, 10)


@pytest.mark.parametrize("router", ["ring", "jump", "rendezvous", "maglev", "memento"])
def test_route_matches_the_router(tmp_path, capsys, router):
    keys = [f"user:{i}" for i in range(200)]
    path = tmp_path / "keys.txt"
    path.write_text("\n".join(keys) + "\n")
    assert main(["route", "--router", router, "--nodes", "a,b,c", str(path)]) == 0
    got = capsys.readouterr().out.splitlines()
    make = {
        "ring": ring.HashRing,
        "jump": routers.JumpRouter,
        "rendezvous": routers.Rendezvous,
        "maglev": routers.Maglev,
        "memento": routers.MementoRouter,
    }[router]
    expected = make(["a", "b", "c"])
    assert got == [expected.nodes[i] for i in expected.lookup_many(keys)]
    assert set(got) == {"a", "b", "c"}


def test_route_ketama_equals_uhashring(tmp_path, capsys):
    uhashring = pytest.importorskip("uhashring")
    keys = [f"key-{i}" for i in range(300)]
    path = tmp_path / "keys.txt"
    path.write_text("\n".join(keys) + "\n")
    assert main(["route", "--router", "ring", "--compat", "ketama", "--nodes", "n1,n2,n3", str(path)]) == 0
    reference = uhashring.HashRing(["n1", "n2", "n3"], hash_fn="ketama")
    assert capsys.readouterr().out.splitlines() == [reference.get_node(k) for k in keys]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["route", "--nodes", ","], "at least one node name"),
        (["route", "--nodes", "a,a"], "names node 'a' twice"),
        (["route", "--nodes-file", "/nonexistent/nodes.txt"], "No such file"),
        (["route", "--nodes", "a", "--nodes-file", "x"], "not allowed with argument"),
        (["route"], "one of the arguments --nodes --nodes-file is required"),
        (["route", "--router", "jump", "--compat", "ketama", "--nodes", "a"], "--compat goes with --router ring"),
    ],
)
def test_route_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err




def test_route_reads_nodes_from_a_file(tmp_path, capsys):
    nodes = tmp_path / "nodes.txt"
    nodes.write_text("# the cache tier\na\n\n  b  \nc\n")
    keys = tmp_path / "keys.txt"
    keys.write_text("\n".join(f"k{i}" for i in range(50)) + "\n")
    assert main(["route", "--nodes-file", str(nodes), str(keys)]) == 0
    expected = ring.HashRing(["a", "b", "c"])
    assert capsys.readouterr().out.splitlines() == [expected.lookup(f"k{i}".encode()) for i in range(50)]
