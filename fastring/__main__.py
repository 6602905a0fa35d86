"""``python -m fastring``: the same as the ``fastring`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
