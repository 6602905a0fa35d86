"""Sphinx configuration: ``sphinx-build docs docs/_build`` (needs the ``docs`` extra)."""

project = "fastring"
author = "The fastring developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "myst_parser"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
napoleon_numpy_docstring = True
exclude_patterns = ["_build"]
html_theme = "alabaster"
