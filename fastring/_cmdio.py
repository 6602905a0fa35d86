"""What the ``fastring`` commands share: key lines in, sample keys, argument types.

Each command module (``cli``, ``_cmd_compare``, ``_cmd_simulate``) imports from here and
``cli`` imports the command modules, so nothing imports back.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterator


class CommandError(Exception):
    """A command-line error: printed as one line, exit status 2."""


def _strip_newline(line: bytes) -> bytes:
    if line.endswith(b"\r\n"):
        return line[:-2]
    return line[:-1] if line.endswith(b"\n") else line


def read_key_lines(path: str) -> Iterator[tuple[int, list[bytes]]]:
    """Yield ``(first line number, keys)``: the lines of ``path`` ('-' = stdin) as
    bytes without their newline, in batches of about 1 MiB, so a large file costs what
    the batched kernels cost. Line numbers count from 1."""
    stream = open(path, "rb") if path != "-" else sys.stdin.buffer
    line = 1
    try:
        while True:
            lines = stream.readlines(1 << 20)
            if not lines:
                return
            yield line, [_strip_newline(text) for text in lines]
            line += len(lines)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def batch_error(exc: Exception, first_line: int, count: int, written: int) -> CommandError:
    """An error met in a batch of input lines, named by its input line.

    The key errors carry the key's ``position`` in the batch (see ``_keys.at_position``);
    ``written`` output lines were written before the batch, none from it.
    """
    position = getattr(exc, "position", None)
    message = str(exc)
    if position is not None and 0 <= position < count:
        where = f"line {first_line + position}"
        message = message.replace(f"key at position {position}", "the key")
    else:
        where = f"lines {first_line}-{first_line + count - 1}"
    return CommandError(f"{where}: {message} ({written} output lines were written before it)")


def read_nodes(nodes: str | None, nodes_file: str | None) -> list[str]:
    """Node names from ``--nodes a,b,c`` or ``--nodes-file`` (one per line; blank
    lines and lines starting with ``#`` are skipped), checked to be distinct."""
    if nodes_file is not None:
        with open(nodes_file, encoding="utf-8") as stream:
            names = [line.strip() for line in stream]
        names = [name for name in names if name and not name.startswith("#")]
        where = f"--nodes-file {nodes_file}"
    else:
        names = [name.strip() for name in (nodes or "").split(",") if name.strip()]
        where = "--nodes"
    if not names:
        raise CommandError(f"{where} needs at least one node name, e.g. --nodes a,b,c")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise CommandError(f"{where} names node {name!r} twice")
        seen.add(name)
    return names


def require_matplotlib() -> None:
    """Refuse ``--plot`` before any work when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CommandError("--plot needs matplotlib: pip install 'fastring-shard[plot]'") from None


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    """``--nodes`` or ``--nodes-file`` (one of them required)."""
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--nodes", metavar="A,B,C", help="comma-separated node names, e.g. a,b,c")
    group.add_argument("--nodes-file", metavar="FILE", help="a file of node names, one per line ('#' starts a comment line)")


def sample_keys(n: int, seed: int = 0) -> list[str]:
    """The built-in sample keys: ``user:<i>`` for a seeded random permutation of range(n)."""
    import numpy as np

    return [f"user:{i}" for i in np.random.default_rng(seed).permutation(n).tolist()]


def int_in(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an int in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum:,}]"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    return parse


def real_in(minimum: float, maximum: float) -> Callable[[str], float]:
    """An argparse type: a number in ``[minimum, maximum]`` (NaN refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if math.isnan(value) or not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be a number in [{minimum:g}, {maximum:g}], got {text}")
        return value

    return parse
