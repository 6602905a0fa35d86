"""Sphinx configuration: ``sphinx-build -W -n docs docs/_build`` (needs the ``docs`` extra).

The pictures are drawn at build time from fresh runs of ``fastring compare`` and
``fastring simulate`` (``docs/plots.py``), so they always match the code.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import plots  # noqa: E402

import fastring  # noqa: E402

project = "fastring"
author = "The fastring developers"
copyright = "2026, The fastring developers"
release = fastring.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "myst_parser"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated/*.json"]
html_theme = "furo"
html_title = f"fastring {release}"
html_static_path: list[str] = []

napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"inherited-members": True, "show-inheritance": True}
myst_heading_anchors = 3

# Warnings are errors in CI (-W -n). Types from other projects and the words numpydoc
# uses for kinds of arguments ("optional", "iterable") have no target in this site.
nitpicky = True
nitpick_ignore_regex = [
    ("py:.*", r"(numpy|np|collections|concurrent|typing|types|pandas|pyarrow|polars|dask|redis|pymemcache|multiprocessing|threading|time|pickle)(\..*)?"),
    ("py:.*", r"fastring\._nodeset\.(N|V)|fastring\.executor\.(T|P)|N|V|T|P|_T"),
    ("py:class", r"optional|iterable|mapping|callable|sequence|numbers|names|key|keys|key container|column name|array-like|int|float|str|bytes|bool|None|object"),
    ("py:class", r'["{].*|.*["}]|.*/.*|.* .*|ints|Balancer|~?P'),
    ("py:.*", r"fastring\.(\w+\.)*_\w+(\.\w+)*"),  # private bases and helpers
]


def setup(app):  # noqa: ANN001, ANN201 - the Sphinx hook
    app.connect("builder-inited", lambda app: plots.draw(os.path.join(app.srcdir, "_generated")))
