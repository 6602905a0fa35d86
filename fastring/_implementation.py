"""Choose the compiled or the pure-Python twin, once, at import.

``FASTRING_IMPLEMENTATION`` is read here and nowhere else:

* unset or empty -> the compiled twin if every compiled module imports, else pure;
* ``"python"``   -> the pure-Python twin;
* ``"cython"``   -> the compiled twin, or ImportError.

Each area's selector (``_hashing.py``, ...) imports its twin according to
:data:`IMPLEMENTATION`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from types import ModuleType

ENV_VAR = "FASTRING_IMPLEMENTATION"

#: Accelerated areas: each has a selector ``_<area>.py`` and the twins
#: ``_<area>_c.pyx`` / ``_<area>_py.py`` exporting the same names (the selector's ``__all__``).
AREAS = ("hashing", "ring", "select", "routers")

#: The compiled twin is used only if every compiled module imports, so a half-built
#: install never mixes twins.
COMPILED_MODULES = tuple(f"fastring._{area}_c" for area in AREAS)


def _compiled_import_error() -> ImportError | None:
    for name in COMPILED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            return exc
    return None


def _choose() -> str:
    requested = os.environ.get(ENV_VAR, "").strip().lower()
    if requested == "python":
        return "python"
    if requested not in ("", "cython"):
        raise ImportError(
            f"{ENV_VAR}={requested!r} is not understood; use 'cython', 'python' or leave it unset"
        )
    error = _compiled_import_error()
    if error is None:
        return "cython"
    if requested == "cython":
        raise ImportError(
            f"{ENV_VAR}=cython but the compiled extension cannot be imported: {error}. "
            "Reinstall fastring with a C compiler available (FASTRING_REQUIRE_EXTENSIONS=1 "
            "makes a build without it fail loudly)."
        ) from error
    return "python"


#: ``"cython"`` or ``"python"``: the twin that is live in this process.
IMPLEMENTATION: str = _choose()


def twin_module(area: str, twin: str) -> ModuleType:
    """The twin module of an area: ``fastring._<area>_c`` (``"cython"``) or ``_py``."""
    if twin not in ("cython", "python"):
        raise ValueError(f"twin must be 'cython' or 'python', got {twin!r}")
    return importlib.import_module(f"fastring._{area}_{'c' if twin == 'cython' else 'py'}")


@contextlib.contextmanager
def use_twin(twin: str) -> Iterator[None]:
    """Run the public API on one twin inside the block, then restore the live one.

    For tests and benchmarks that compare the twins in one process: every selector's
    names are pointed at that twin's kernels. The public modules look kernels up on
    their selector at call time, so nothing else needs to know. Not thread-safe.
    """
    saved = []
    delegating = []
    try:
        for area in AREAS:
            selector = importlib.import_module(f"fastring._{area}")
            module = twin_module(area, twin)
            for name in selector.__all__:
                saved.append((selector, name, getattr(selector, name)))
                setattr(selector, name, getattr(module, name))
            # Public names bound straight to the live twin's functions (hash_key) do
            # not go through the selector: the live twin hands those calls over.
            live = twin_module(area, IMPLEMENTATION)
            if live is not module and hasattr(live, "_delegate_to"):
                live._delegate_to(module)
                delegating.append(live)
        yield
    finally:
        for live in delegating:
            live._delegate_to(None)
        for selector, name, value in reversed(saved):
            setattr(selector, name, value)
