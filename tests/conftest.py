"""Run every test against both twins.

The ``twin`` fixture points every selector module (``fastring._<area>``) at one twin
for the duration of a test, so the public API runs on that twin. The compiled param
imports the compiled modules directly: a broken build errors here instead of silently
testing the pure fallback twice.
"""

import importlib

import pytest

from fastring._implementation import AREAS

TWINS = ("cython", "python")


def pytest_addoption(parser):
    parser.addoption(
        "--no-extensions",
        action="store_true",
        help="test only the pure-Python twin (for a FASTRING_NO_EXTENSIONS build)",
    )


def twin_module(area: str, twin: str):
    """The twin module of an area: ``fastring._<area>_c`` or ``fastring._<area>_py``."""
    return importlib.import_module(f"fastring._{area}_{'c' if twin == 'cython' else 'py'}")


def pytest_collection_modifyitems(config, items):
    """``compiled_only`` tests need the compiled twin: skipped under --no-extensions."""
    if not config.getoption("--no-extensions"):
        return
    skip = pytest.mark.skip(reason="--no-extensions: needs the compiled twin")
    for item in items:
        if item.get_closest_marker("compiled_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session", params=TWINS)
def twin_name(request):
    if request.param == "cython" and request.config.getoption("--no-extensions"):
        pytest.skip("--no-extensions: the compiled twin is not tested")
    return request.param


@pytest.fixture
def twin(twin_name, monkeypatch):
    """Make the public API run on one twin; the value is the twin's name."""
    for area in AREAS:
        selector = importlib.import_module(f"fastring._{area}")
        module = twin_module(area, twin_name)
        for name in selector.__all__:
            monkeypatch.setattr(selector, name, getattr(module, name))
    return twin_name


@pytest.fixture(scope="session")
def compiled(request):
    """Both twins' modules for parity tests: {area: (compiled, pure)}."""
    if request.config.getoption("--no-extensions"):
        pytest.skip("--no-extensions: no compiled twin to compare against")
    return {area: (twin_module(area, "cython"), twin_module(area, "python")) for area in AREAS}
