"""The ``fastring`` command line (also ``python -m fastring``)."""

from __future__ import annotations

import argparse
import json
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

    info = {
        "fastring": __version__,
        "implementation": IMPLEMENTATION,
        "build": _build_info(),
        "algorithms": list(ALGORITHMS),
        "python": f"{platform.python_implementation()} {platform.python_version()} ({platform.machine()})",
        "numpy": numpy.__version__,
    }
    if args.json:
        json.dump(info, sys.stdout, indent=2)
        print()
        return 0
    print(f"fastring {__version__}")
    for name in ("implementation", "build", "algorithms", "python", "numpy"):
        value = info[name]
        print(f"{name}: {', '.join(value) if isinstance(value, list) else value}")
    return 0


def json_key(key: bytes) -> str:
    """A key line as JSON text: its UTF-8, with undecodable bytes as \\xNN escapes."""
    return key.decode("utf-8", "backslashreplace")


def cmd_hash(args: argparse.Namespace) -> int:
    # The line (without its newline) is the key, as bytes: a file's encoding is
    # hashed exactly as it is.
    # Bytes keys cannot fail, so output never stops part-way through a batch.
    for _, keys in read_key_lines(args.file):
        hashes = hash_keys(keys, args.algorithm, seed=args.seed).tolist()
        if args.json:  # JSON Lines: one object per key, streamed
            dumps = json.dumps
            sys.stdout.write("".join(dumps({"key": json_key(k), "hash": h}) + "\n" for k, h in zip(keys, hashes)))
        else:
            sys.stdout.write("".join(f"{h}\n" for h in hashes))
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
    timings: dict[str, dict[str, float]] = {}
    for algorithm in ALGORITHMS:
        timings[algorithm] = {}
        for name, container in containers.items():
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                hash_keys(container, algorithm)
                best = min(best, time.perf_counter() - start)
            timings[algorithm][name] = best / args.keys * 1e9
    if args.json:
        json.dump({"fastring": __version__, "implementation": IMPLEMENTATION, "keys": args.keys,
                   "ns_per_key": timings}, sys.stdout, indent=2)
        print()
        return 0
    print(f"fastring {__version__} ({IMPLEMENTATION}): hashing {args.keys:,} sample keys")
    print(f"{'algorithm':<12} " + " ".join(f"{name + ' ns/key':>20}" for name in containers))
    for algorithm, row in timings.items():
        print(f"{algorithm:<12} " + " ".join(f"{row[name]:>20.1f}" for name in containers))
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
    info.add_argument("--json", action="store_true", help="print the same as JSON")
    info.set_defaults(run=cmd_info)

    hash_ = commands.add_parser("hash", help="hash one key per line (stdin by default)")
    hash_.add_argument("file", nargs="?", default="-", help="file of keys, one per line ('-' = stdin)")
    hash_.add_argument("--algorithm", "-a", default="xxh64", choices=ALGORITHMS, help="the hash (default xxh64)")
    hash_.add_argument("--seed", "-s", type=int, default=0, help="the seed (default 0; fnv1a_64 and md5_32 take none)")
    hash_.add_argument("--json", action="store_true", help='JSON Lines: {"key": ..., "hash": ...} per line')
    hash_.set_defaults(run=cmd_hash)

    demo = commands.add_parser("demo", help="hash built-in sample keys with every algorithm")
    demo.add_argument("--keys", type=int_in(1, 10**8), default=200_000, help="number of sample keys (default 200000)")
    demo.add_argument("--json", action="store_true", help="print the timings as JSON (and skip the container demo)")
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
