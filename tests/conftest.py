"""Run every test against both twins.

The ``twin`` fixture runs a test with the public API on one twin
(``fastring._implementation.use_twin``, the helper the benchmarks use too). The
compiled param imports the compiled modules directly: a broken build errors here
instead of silently testing the pure fallback twice.
"""

import pytest

from fastring._implementation import AREAS, twin_module, use_twin

TWINS = ("cython", "python")


def pytest_addoption(parser):
    parser.addoption(
        "--no-extensions",
        action="store_true",
        help="test only the pure-Python twin (for a FASTRING_NO_EXTENSIONS build)",
    )
    parser.addoption(
        "--compiled-twin-only",
        action="store_true",
        help="run the twin-parametrized tests on the compiled twin only (for builds that "
        "differ only in how the extension is compiled: the sdist and debug builds in CI)",
    )


def pytest_collection_modifyitems(config, items):
    """``compiled_only`` tests need the compiled twin: skipped under --no-extensions.
    Under --compiled-twin-only the pure twin's parametrizations are deselected."""
    if config.getoption("--compiled-twin-only"):
        def on_pure(item):
            callspec = getattr(item, "callspec", None)
            return callspec is not None and callspec.params.get("twin_name") == "python"

        pure = [item for item in items if on_pure(item)]
        if pure:
            config.hook.pytest_deselected(items=pure)
            items[:] = [item for item in items if not on_pure(item)]
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
def twin(twin_name):
    """Make the public API run on one twin; the value is the twin's name."""
    with use_twin(twin_name):
        yield twin_name


@pytest.fixture(scope="session")
def compiled(request):
    """Both twins' modules for parity tests: {area: (compiled, pure)}."""
    if request.config.getoption("--no-extensions"):
        pytest.skip("--no-extensions: no compiled twin to compare against")
    return {area: (twin_module(area, "cython"), twin_module(area, "python")) for area in AREAS}


@pytest.fixture(scope="session")
def select_modules(pytestconfig):
    """The select twins to cross-check: compiled and pure, or pure alone with --no-extensions."""
    pure = twin_module("select", "python")
    if pytestconfig.getoption("--no-extensions"):
        return [pure]
    return [twin_module("select", "cython"), pure]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server in cluster mode on a free port (the port is the value).

    Skipped where redis-server is not installed, except under CI (``.ci/run``
    installs it), where its absence is an error.
    """
    import servers

    binary = servers.require("redis-server")
    with servers.redis(binary, cluster=True, workdir=str(tmp_path_factory.mktemp("redis"))) as server:
        yield server.port
