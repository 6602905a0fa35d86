"""Every public function and method has a runnable example in its docstring (the
doctests run them: ``--doctest-modules``), and the docs reach every public name."""

import inspect
import os

import pytest

import fastring
import fastring.analysis
import fastring.balance
import fastring.compat
import fastring.compat.uhashring
import fastring.dask
import fastring.sharded

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")

MODULES = {
    fastring: fastring.__all__,
    fastring.compat: fastring.compat.__all__,
    fastring.dask: fastring.dask.__all__,
    fastring.sharded: fastring.sharded.__all__,
    fastring.analysis: fastring.analysis.__all__,
    fastring.balance: ["Balancer", "Lease"],
}
#: Methods documented by their class's example: the adapter protocol and its
#: in-memory implementation, whose three calls only make sense together.
COVERED_BY_CLASS = {"ShardAdapter", "MemoryStore"}
FOREIGN = ("builtins", "typing", "abc", "concurrent.futures._base")


def public_callables():
    seen = set()
    for module, names in MODULES.items():
        for name in names:
            obj = getattr(module, name)
            if id(obj) in seen or not callable(obj):
                continue
            seen.add(id(obj))
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue
            yield f"{module.__name__}.{name}", obj
            if not inspect.isclass(obj) or obj.__name__ in COVERED_BY_CLASS:
                continue
            for attr in dir(obj):
                if attr.startswith("_") and attr != "__contains__":
                    continue
                owner = next((c for c in obj.__mro__ if attr in vars(c)), None)
                if owner is None or owner.__module__ in FOREIGN or (owner, attr) in seen:
                    continue
                member = vars(owner)[attr]
                if isinstance(member, (property, type)) or not callable(getattr(obj, attr)):
                    continue  # attributes are described, not exemplified
                seen.add((owner, attr))
                yield f"{owner.__module__}.{owner.__qualname__}.{attr}", getattr(obj, attr)


CALLABLES = dict(public_callables())


@pytest.mark.parametrize("name", sorted(CALLABLES))
def test_has_a_runnable_example(name):
    doc = inspect.getdoc(CALLABLES[name]) or ""
    assert ">>>" in doc, f"{name} has no example"


def test_the_api_page_names_every_public_name():
    with open(os.path.join(DOCS, "api.md")) as f:
        api = f.read()
    for name in fastring.__all__:
        if name == "__version__":
            continue
        assert f"fastring.{name}" in api, name
    for module in ("fastring.compat", "fastring.dask", "fastring.analysis", "fastring.compat.uhashring"):
        assert f"automodule:: {module}" in api, module
