"""The fastring command line."""

import subprocess
import sys

import numpy as np
import pytest

from fastring import ALGORITHMS, IMPLEMENTATION, HashRing, __version__, hash_keys
from fastring.cli import main


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"fastring {__version__}" in out
    assert f"implementation: {IMPLEMENTATION}" in out
    for algorithm in ALGORITHMS:
        assert algorithm in out


@pytest.mark.parametrize("algorithm, seed", [("xxh64", 0), ("murmur3_32", 42), ("md5_32", 0)])
def test_hash_file(tmp_path, capsys, algorithm, seed):
    keys = ["user:1", "user:2", "", "κλειδί", "with\r"]
    path = tmp_path / "keys.txt"
    path.write_bytes(b"user:1\nuser:2\n\n\xce\xba\xce\xbb\xce\xb5\xce\xb9\xce\xb4\xce\xaf\r\nwith\r")
    assert main(["hash", "--algorithm", algorithm, "--seed", str(seed), str(path)]) == 0
    got = [int(line) for line in capsys.readouterr().out.splitlines()]
    # CRLF line ends are dropped; a lone trailing CR without newline is part of the key.
    assert got == hash_keys(keys, algorithm, seed=seed).tolist()


def test_hash_stdin_and_module_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "fastring", "hash", "-a", "xxh3_64"],
        input=b"a\nb\n",
        capture_output=True,
        check=True,
    )
    assert result.stdout.decode().split() == [str(h) for h in hash_keys(["a", "b"], "xxh3_64")]


def test_hash_bad_seed_fails_cleanly(tmp_path, capsys):
    path = tmp_path / "keys.txt"
    path.write_text("a\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["hash", "--algorithm", "fnv1a_64", "--seed", "3", str(path)])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert "takes no seed" in captured.err
    assert captured.out == ""


def test_hash_missing_file(capsys):
    with pytest.raises(SystemExit):
        main(["hash", "/nonexistent/keys.txt"])
    assert "No such file" in capsys.readouterr().err


def test_demo_runs(capsys):
    assert main(["demo", "--keys", "1000"]) == 0
    out = capsys.readouterr().out
    for algorithm in ALGORITHMS:
        assert algorithm in out
    values = [line.split()[-1] for line in out.splitlines() if line.startswith("  ")]
    assert len(set(values)) == 1 and int(values[0]) == hash_keys(np.array([5]))[0]


# --------------------------------------------------------------------------- bad input


def run_cli(*args, stdin=b""):
    return subprocess.run(
        [sys.executable, "-m", "fastring", *args], input=stdin, capture_output=True, timeout=120
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["demo", "--keys", "0"], "--keys: must be in [1,"),
        (["demo", "--keys", "-1"], "--keys: must be in [1,"),
        (["demo", "--keys", "many"], "expected a whole number"),
        (["compare", "--nodes", "1"], "--nodes: must be in [2,"),
        (["compare", "--keys", "0"], "--keys: must be in [1,"),
        (["compare", "--nodes", "1000000"], "need about"),
        (["simulate", "--load", "1e-300"], "--load: must be a number in"),
        (["simulate", "--servers", "1e-320,1"], "--servers takes comma-separated speeds"),
        (["simulate", "--servers", "nan,1"], "--servers takes comma-separated speeds"),
        (["simulate", "--service-ms", "inf"], "--service-ms: must be a number in"),
        (["simulate", "--requests", "0"], "--requests/-n: must be in [1,"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"fastring {args[0]}: error:")
    assert result.stdout == b""


def test_compare_memory_limit_can_be_raised():
    from fastring._cmd_compare import estimated_memory

    assert estimated_memory(10**6, 200_000) > 4 * 2**30  # the default refuses it...
    assert estimated_memory(100, 200_000) < 4 * 2**30  # ...and runs the default job


def test_route_error_names_the_input_line_and_writes_no_later_lines():
    lines = b"".join(b"user:%d\n" % i for i in range(300_000)) + b"\xff\xfe\n" + b"after\n"
    result = run_cli("route", "--nodes", "a,b,c", "--compat", "uhashring", stdin=lines)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "line 300001: the key is a str that is not valid Unicode" in err and "Traceback" not in err
    written = result.stdout.decode().splitlines()
    # Whole batches only: every written line is a routed key from before the bad line.
    assert f"({len(written)} output lines were written before it)" in err
    assert len(written) < 300_000 and set(written) <= {"a", "b", "c"}


def test_route_default_mode_routes_each_line_as_bytes():
    result = run_cli("route", "--nodes", "a,b", stdin=b"ok\nfine\n\xff\n")
    ring = HashRing(["a", "b"])
    assert result.returncode == 0
    assert result.stdout.decode().split() == [ring.lookup(k) for k in (b"ok", b"fine", b"\xff")]


def info_raising(monkeypatch, error):
    """fastring.cli whose ``info`` command raises ``error``."""
    import fastring.cli as cli

    def run(args):
        raise error

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["info"].set_defaults(run=run)
    return cli


def test_ctrl_c_exits_130_without_a_traceback(monkeypatch, capsys):
    cli = info_raising(monkeypatch, KeyboardInterrupt)
    assert cli.main(["info"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_out_of_memory_is_a_one_line_error(monkeypatch, capsys):
    cli = info_raising(monkeypatch, MemoryError)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["info"])
    assert exit_info.value.code == 2
    assert "out of memory" in capsys.readouterr().err


# --------------------------------------------------------------------------- --json, --plot, help


def test_every_command_takes_json(tmp_path, capsys):
    import json

    keys = tmp_path / "keys.txt"
    keys.write_bytes(b"user:1\nuser:2\n\xff\n")
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["fastring"] == __version__ and info["algorithms"] == list(ALGORITHMS)

    assert main(["hash", "--json", str(keys)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"key": "user:1", "hash": int(hash_keys([b"user:1"])[0])},
                     {"key": "user:2", "hash": int(hash_keys([b"user:2"])[0])},
                     {"key": "\\xff", "hash": int(hash_keys([b"\xff"])[0])}]

    assert main(["route", "--nodes", "a,b,c", "--json", str(keys)]) == 0
    ring = HashRing(["a", "b", "c"])
    routed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["node"] for r in routed] == [ring.lookup(k) for k in (b"user:1", b"user:2", b"\xff")]

    assert main(["demo", "--keys", "100", "--json"]) == 0
    demo = json.loads(capsys.readouterr().out)
    assert set(demo["ns_per_key"]) == set(ALGORITHMS)

    assert main(["compare", "--nodes", "4", "--keys", "500", "--json"]) == 0
    compare = json.loads(capsys.readouterr().out)
    assert compare["nodes"] == 4 and {r["router"] for r in compare["routers"]} >= {"ring", "jump", "maglev"}
    assert all(0 <= r["moved_remove"] <= 1 for r in compare["routers"])

    assert main(["simulate", "-n", "500", "--json"]) == 0
    simulated = json.loads(capsys.readouterr().out)
    assert simulated["scenario"]["requests"] == 500 and len(simulated["balancers"]) == 6


def test_route_takes_a_nodes_file(tmp_path, capsys):
    nodes = tmp_path / "nodes.txt"
    nodes.write_text("# the cache tier\na\nb\nc\n")
    keys = tmp_path / "keys.txt"
    keys.write_bytes(b"user:1\n")
    assert main(["route", "--nodes-file", str(nodes), str(keys)]) == 0
    assert capsys.readouterr().out == HashRing(["a", "b", "c"]).lookup(b"user:1") + "\n"


@pytest.mark.skipif(__import__("importlib").util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_compare_plot(tmp_path, capsys):
    path = tmp_path / "compare.png"
    assert main(["compare", "--nodes", "4", "--keys", "500", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {path}" in capsys.readouterr().out


def test_compare_plot_without_matplotlib(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(SystemExit) as exit:
        main(["compare", "--nodes", "4", "--keys", "500", "--plot", str(tmp_path / "x.png")])
    captured = capsys.readouterr()
    assert exit.value.code == 2 and captured.out == ""
    assert "fastring compare: error: --plot needs matplotlib: pip install 'fastring-shard[plot]'" in captured.err


@pytest.mark.parametrize("command", ["info", "hash", "demo", "compare", "route", "split", "simulate"])
def test_help_explains_every_option_without_markup(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text and ":class:" not in text
    assert "--json" in text
    # Every option has help text: argparse prints an option's help on its line or the next.
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("--") and "  " not in stripped:
            assert i + 1 < len(lines) and lines[i + 1].startswith(" " * 10), f"{command}: {stripped} has no help"
    if command in ("compare", "simulate"):
        assert "columns:" in text
