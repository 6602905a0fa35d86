"""The fastring command line."""

import subprocess
import sys

import numpy as np
import pytest

from fastring import ALGORITHMS, IMPLEMENTATION, __version__, hash_keys
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
