"""fastring split: a Parquet/CSV file in, one file per node out, as split() would."""

import json

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from fastring import HashRing, Maglev, split
from fastring.cli import main

NODES = ["east", "west", "north"]


@pytest.fixture
def table():
    n = 3_000
    return pa.table({"user": [f"user:{i}" for i in range(n)], "code": [f"{i:05d}" for i in range(n)], "v": list(range(n))})


def test_parquet_in_parquet_out_equals_split(tmp_path, capsys, table):
    source = tmp_path / "in.parquet"
    pq.write_table(table, source)
    out = tmp_path / "out" / "part-{node}.parquet"
    assert main(["split", str(source), "--on", "user", "--nodes", ",".join(NODES), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "split 3,000 rows" in text and "3 parquet files" in text
    for name, part in split(table, HashRing(NODES), on="user").items():
        assert pq.read_table(str(out).replace("{node}", name)).equals(part)


def test_csv_json_summary_nodes_file_and_router(tmp_path, capsys, table):
    source = tmp_path / "in.csv"
    pcsv.write_csv(table, source)
    nodes = tmp_path / "nodes.txt"
    nodes.write_text("# tier\n" + "\n".join(NODES) + "\n")
    out = tmp_path / "{node}.csv"
    argv = ["split", str(source), "--on", "code", "--text-keys", "--nodes-file", str(nodes), "--router", "maglev"]
    assert main([*argv, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    expected = split(table, Maglev(NODES), on="code")  # "00042" routed as text, not as 42
    assert summary["rows"] == 3000 and summary["nodes"] == 3 and summary["router"] == "maglev"
    assert {name: entry["rows"] for name, entry in summary["files"].items()} == {n: len(p) for n, p in expected.items()}
    assert set(summary["seconds"]) == {"read", "route_and_group", "gather_and_write"}
    for name, entry in summary["files"].items():
        got = pcsv.read_csv(entry["path"], convert_options=pcsv.ConvertOptions(column_types={"code": pa.string()}))
        assert got.column("v").to_pylist() == expected[name].column("v").to_pylist()


def test_empty_nodes_are_listed_not_written(tmp_path, capsys, table):
    source = tmp_path / "in.parquet"
    pq.write_table(table.slice(0, 2), source)
    nodes = ",".join(f"n{i}" for i in range(20))
    assert main(["split", str(source), "--on", "user", "--nodes", nodes, "--out", str(tmp_path / "{node}.parquet"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert len(summary["files"]) <= 2 and len(summary["empty_nodes"]) >= 18
    assert sorted(p.name for p in tmp_path.glob("n*.parquet")) == sorted(f"{n}.parquet" for n in summary["files"])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--on", "nope"], "no column 'nope' to route on"),
        (["--on", "user", "--out", "flat.parquet"], "template with {node}"),
        (["--on", "user", "--out", "{node}.txt"], "cannot tell the format of out"),
        (["--on", "user", "--nodes", "a/b"], "not a safe file name"),
        (["--on", "user", "--nodes", "a,a"], "names node 'a' twice"),
    ],
)
def test_bad_arguments(tmp_path, monkeypatch, capsys, table, extra, message):
    monkeypatch.chdir(tmp_path)
    pq.write_table(table, "in.parquet")
    argv = ["split", "in.parquet", "--out", "o/{node}.parquet", "--nodes", "a,b", *extra]  # the last --out wins
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


def test_existing_outputs_need_overwrite_and_nulls_name_their_row(tmp_path, capsys, table):
    source = tmp_path / "in.parquet"
    pq.write_table(table, source)
    argv = ["split", str(source), "--on", "user", "--nodes", "a,b", "--out", str(tmp_path / "{node}.parquet")]
    assert main(argv) == 0
    with pytest.raises(SystemExit):
        main(argv)
    assert "pass --overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    nulls = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"user": ["a", None, "c"]}), nulls)
    with pytest.raises(SystemExit):
        main(["split", str(nulls), "--on", "user", "--nodes", "x,y", "--out", str(tmp_path / "n-{node}.parquet")])
    assert "position 1" in capsys.readouterr().err
    assert not list(tmp_path.glob("n-*"))
