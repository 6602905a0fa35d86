"""A typed user's script passes ``mypy --strict``: generic routers and balancers,
``NDArray[np.int32]`` batches, ``Lease.__exit__`` returning None, ``Mapping`` weights;
and so does fastring itself."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def test_service_script_passes_mypy_strict():
    pytest.importorskip("mypy")
    script = os.path.join(HERE, "typing", "service.py")
    # --follow-imports=silent: fastring is analysed for its types, and its own
    # modules' findings are not the user's (as for any installed package).
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
         "--python-version", "3.11", script],
        capture_output=True, text=True, cwd=os.path.dirname(HERE), timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_fastring_itself_passes_mypy_strict():
    pytest.importorskip("mypy")
    root = os.path.dirname(HERE)
    # The project's [tool.mypy] settings: the optional extras ship no stubs.
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-version", "3.11",
         "--config-file", os.path.join(root, "pyproject.toml"), "-p", "fastring"],
        capture_output=True, text=True, cwd=root, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_type_is_caught(tmp_path):
    """The check is live: a wrong assert_type fails it."""
    pytest.importorskip("mypy")
    bad = tmp_path / "wrong.py"
    bad.write_text("from typing import assert_type\nfrom fastring import HashRing\n"
                   "assert_type(HashRing(['a']).lookup('k'), int)\n")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
         "--python-version", "3.11", str(bad)],
        capture_output=True, text=True, cwd=os.path.dirname(HERE), timeout=600,
    )
    assert done.returncode == 1 and "[assert-type]" in done.stdout, done.stdout
