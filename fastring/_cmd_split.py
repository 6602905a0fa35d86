"""``fastring split``: a Parquet or CSV file in, one file per node out."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from ._cmd_compare import add_router_arguments, make_router
from ._cmdio import CommandError, int_in, read_nodes

_EXTENSIONS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def _format_of(path: str, given: str | None, what: str) -> str:
    if given:
        return given
    stem = path[: -len(".gz")] if path.endswith(".gz") else path
    found = _EXTENSIONS.get(os.path.splitext(stem)[1].lower())
    if found is None:
        raise CommandError(f"cannot tell the format of {what} {path!r} from its name: pass --{what}-format parquet|csv")
    return found


def _read(path: str, format: str, on: str, text_keys: bool) -> Any:
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        raise CommandError("fastring split needs pyarrow: pip install 'fastring-shard[arrow]'") from None
    if format == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import pyarrow as pa
    import pyarrow.csv as pcsv

    # CSV has no types: Arrow infers them, so "007" would become the integer 7 and
    # route as one. --text-keys reads the key column as the text it is.
    convert = pcsv.ConvertOptions(column_types={on: pa.string()} if text_keys else None)
    return pcsv.read_csv(path, convert_options=convert)


def cmd_split(args: argparse.Namespace) -> int:
    from .pipeline import _check_template, _plan, _write_parts

    names = read_nodes(args.nodes, args.nodes_file)
    router = make_router(args.router, names, args.compat)
    in_format = _format_of(args.input, args.input_format, "input")
    out_format = _format_of(args.out, args.format, "out") if "{node}" in args.out else (args.format or "parquet")
    _check_template(args.out, out_format)
    progress = (sys.stderr.isatty() or args.progress) and not args.json
    start = time.perf_counter()
    table = _read(args.input, in_format, args.on, args.text_keys)
    read = time.perf_counter()
    plan = _plan(table, router, args.on, None, "split")
    routed = time.perf_counter()
    try:
        written = _write_parts(plan, table, args.out, out_format, args.threads, args.overwrite, progress)
    except FileExistsError as exc:
        raise CommandError(str(exc).replace("overwrite=True", "--overwrite")) from None
    done = time.perf_counter()
    rows = {name: plan.rows(j) for j, name in enumerate(plan.names)}
    summary = {
        "input": args.input,
        "rows": table.num_rows,
        "column": args.on,
        "router": args.router + (f" ({args.compat})" if args.compat else ""),
        "nodes": len(names),
        "files": {name: {"path": written[name], "rows": rows[name]} for name in written},
        "empty_nodes": [name for name in router.nodes if name not in written],
        "seconds": {"read": read - start, "route_and_group": routed - read, "gather_and_write": done - routed},
    }
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    seconds = summary["seconds"]
    print(
        f"split {table.num_rows:,} rows of {args.input} on {args.on!r} over {len(names)} nodes "
        f"into {len(written)} {out_format} files (read {seconds['read']:.2f} s, route and group "
        f"{seconds['route_and_group']:.2f} s, gather and write {seconds['gather_and_write']:.2f} s)"
    )
    width = max(len(str(name)) for name in names)
    for name, entry in summary["files"].items():
        print(f"  {name!s:<{width}}  {entry['rows']:>12,} rows  {entry['path']}")
    if summary["empty_nodes"]:
        print(f"  no rows (no file): {', '.join(map(str, summary['empty_nodes']))}")
    return 0


def register(commands: Any) -> None:
    p = commands.add_parser(
        "split",
        help="write one Parquet/CSV file per node from a Parquet/CSV file",
        description="Route every row of INPUT by its --on column and write each node's rows, in input "
        "order, to the --out template with {node} replaced by the node's name. Files are written "
        "under temporary names and renamed when all succeeded: an error leaves no output file.",
    )
    p.add_argument("input", help="a Parquet or CSV file (the format is read from the extension)")
    p.add_argument("--on", required=True, metavar="COLUMN", help="the key column")
    p.add_argument("--out", required=True, metavar="TEMPLATE", help="output path with {node}, e.g. 'out/part-{node}.parquet'")
    add_router_arguments(p)
    p.add_argument("--format", choices=("parquet", "csv"), help="output format (default: from --out's extension)")
    p.add_argument("--input-format", choices=("parquet", "csv"), help="input format (default: from the input's extension)")
    p.add_argument("--text-keys", action="store_true", help="CSV: read the key column as text, not as inferred numbers")
    p.add_argument("--threads", type=int_in(1, 1024), default=min(8, os.cpu_count() or 1),
                   help="files written in parallel (default: the CPU count, at most 8)")
    p.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    p.add_argument("--progress", action="store_true", help="show progress (automatic on a terminal)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary instead of the table")
    p.set_defaults(run=cmd_split)
