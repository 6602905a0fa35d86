"""The ``fastring`` command line (also ``python -m fastring``)."""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence

from . import ALGORITHMS, IMPLEMENTATION, __version__, _cmd_compare, _cmd_simulate, _cmd_split
from ._cmdio import CommandError, int_in, read_key_lines, sample_keys
from ._algorithms import resolve_algorithm
from .hashing import hash_keys


def _build_info() -> str:
    if IMPLEMENTATION != "cython":
        return "pure Python (no compiled extension imported)"
    from . import _hashing_c  # type: ignore[attr-defined]  # compiled; no stub needed here

    return f"compiled extension {_hashing_c.__file__}"


def cmd_info(args: argparse.Namespace) -> int:
    import numpy

    print(f"fastring {__version__}")
    print(f"implementation: {IMPLEMENTATION}")
    print(f"build: {_build_info()}")
    print(f"algorithms: {', '.join(ALGORITHMS)}")
    print(f"python: {platform.python_implementation()} {platform.python_version()} ({platform.machine()})")
    print(f"numpy: {numpy.__version__}")
    return 0


def cmd_hash(args: argparse.Namespace) -> int:
    # The line (without its newline) is the key, as bytes: a file's encoding is
    # hashed exactly as it is.
    # Bytes keys cannot fail, so output never stops part-way through a batch.
    for _, keys in read_key_lines(args.file):
        hashes = hash_keys(keys, args.algorithm, seed=args.seed)
        sys.stdout.write("".join(f"{h}\n" for h in hashes.tolist()))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    keys = sample_keys(args.keys)
    containers = {
        "list of str": keys,
        "uint64 array": np.arange(args.keys, dtype=np.uint64),
        "NumPy S array": np.array(keys, dtype="S"),
    }
    print(f"fastring {__version__} ({IMPLEMENTATION}): hashing {args.keys:,} sample keys")
    print(f"{'algorithm':<12} " + " ".join(f"{name + ' ns/key':>20}" for name in containers))
    for algorithm in ALGORITHMS:
        cells = []
        for container in containers.values():
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                hash_keys(container, algorithm)
                best = min(best, time.perf_counter() - start)
            cells.append(f"{best / args.keys * 1e9:>20.1f}")
        print(f"{algorithm:<12} " + " ".join(cells))
    print()
    print("same key, same hash, whatever the container (xxh64 of 5):")
    five = [
        ("int", hash_keys([5])[0]),
        ("int8 array", hash_keys(np.array([5], dtype=np.int8))[0]),
        ("uint64 array", hash_keys(np.array([5], dtype=np.uint64))[0]),
        ("bytes", hash_keys([(5).to_bytes(8, "little")])[0]),
    ]
    for label, value in five:
        print(f"  {label:<14} {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastring", description="Fast key hashing and routing.")
    parser.add_argument("--version", action="version", version=f"fastring {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = commands.add_parser("info", help="version, implementation, algorithms, build")
    info.set_defaults(run=cmd_info)

    hash_ = commands.add_parser("hash", help="hash one key per line (stdin by default)")
    hash_.add_argument("file", nargs="?", default="-", help="file of keys, one per line ('-' = stdin)")
    hash_.add_argument("--algorithm", "-a", default="xxh64", choices=ALGORITHMS)
    hash_.add_argument("--seed", "-s", type=int, default=0)
    hash_.set_defaults(run=cmd_hash)

    demo = commands.add_parser("demo", help="hash built-in sample keys with every algorithm")
    demo.add_argument("--keys", type=int_in(1, 10**8), default=200_000, help="number of sample keys (default 200000)")
    demo.set_defaults(run=cmd_demo)

    # Each command module adds its subcommands; each subparser sets run=function(args) -> int.
    _cmd_compare.register(commands)
    _cmd_simulate.register(commands)
    _cmd_split.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "hash":
            resolve_algorithm(args.algorithm, args.seed)  # a bad seed fails before any output
        status: int = args.run(args)
        return status
    except BrokenPipeError:  # e.g. `fastring hash keys.txt | head`
        return 0
    except KeyboardInterrupt:  # Ctrl-C: the shell's convention, no traceback
        sys.stderr.write("\n")
        return 130
    except MemoryError:
        parser.exit(2, f"fastring {args.command}: error: out of memory; try fewer keys or nodes\n")
    except (CommandError, ValueError, TypeError, OverflowError, OSError, LookupError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc  # no repr quotes
        parser.exit(2, f"fastring {args.command}: error: {message}\n")
