"""The FASTRING_IMPLEMENTATION switch, tested by re-importing under each value."""

import subprocess
import sys

import pytest

import fastring


def import_under(value):
    """IMPLEMENTATION of a fresh interpreter importing fastring with the env var set."""
    env = {"FASTRING_IMPLEMENTATION": value} if value is not None else {}
    code = "import fastring; print(fastring.IMPLEMENTATION)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**_base_env(), **env},
        capture_output=True,
        text=True,
    )
    return result


def _base_env():
    import os

    env = dict(os.environ)
    env.pop("FASTRING_IMPLEMENTATION", None)
    return env


def compiled_available():
    try:
        import fastring._hashing_c  # noqa: F401
    except ImportError:
        return False
    return True


def test_python_selects_the_pure_twin():
    result = import_under("python")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "python"


def test_unset_prefers_the_compiled_twin():
    result = import_under(None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("cython" if compiled_available() else "python")


def test_cython_requires_the_compiled_twin():
    result = import_under("cython")
    if compiled_available():
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "cython"
    else:
        assert "ImportError" in result.stderr


def test_unknown_value_is_refused():
    result = import_under("rust")
    assert result.returncode != 0
    assert "FASTRING_IMPLEMENTATION='rust' is not understood" in result.stderr


@pytest.mark.parametrize("value, expected", [("python", "python"), ("PYTHON", "python"), ("", None)])
def test_switch_in_process(monkeypatch, value, expected):
    """Drop the modules, set the variable, re-import, check IMPLEMENTATION."""
    saved = {name: module for name, module in sys.modules.items() if name == "fastring" or name.startswith("fastring.")}
    try:
        for name in saved:
            del sys.modules[name]
        monkeypatch.setenv("FASTRING_IMPLEMENTATION", value)
        import fastring as fresh

        want = expected or ("cython" if compiled_available() else "python")
        assert fresh.IMPLEMENTATION == want
        from fastring import _hashing

        assert _hashing.hash_bytes.__module__ == ("fastring._hashing_c" if want == "cython" else "fastring._hashing_py")
        assert fresh.hash_key("user:42") == fastring.hash_key("user:42")
    finally:
        for name in [n for n in sys.modules if n == "fastring" or n.startswith("fastring.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_compiled_twin_is_really_built_when_required():
    """In CI (FASTRING_REQUIRE_EXTENSIONS=1 builds) the compiled twin must be live."""
    import os

    if os.environ.get("CI") and not os.environ.get("FASTRING_ALLOW_PURE"):
        assert compiled_available(), "CI must test a real compiled build"
        assert fastring.IMPLEMENTATION == "cython"
