"""Turn bench/results/*.json into the markdown tables of docs/benchmarks.md.

    python bench/report.py > docs/benchmarks.md
"""

import glob
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    paths = sorted(glob.glob(os.path.join(HERE, "results", "*.json")))
    print("# Benchmarks\n")
    print("Interleaved best-of-N timings from `bench/` (see `bench/README.md`); speed-ups are")
    print("peer time / fastring time from the same run, so higher is better (below 1: the peer is faster). Reproduce with")
    print("`python bench/bench_<area>.py` (hashing, ring, routers, select, compat, pipeline, calls, uhashring, pools), then")
    print("`python bench/report.py > docs/benchmarks.md`. The machine is a shared 2-core VM:")
    print("absolute times move by tens of percent between runs; ratios within a run hold better.\n")
    for path in paths:
        with open(path) as f:
            result = json.load(f)
        m = result["machine"]
        area = os.path.splitext(os.path.basename(path))[0]
        if "stages" in result:  # a time split, not a comparison
            print(f"## {area}\n")
            print(f"Where the time goes, ms per call ({result['rows']:,} rows, {result['nodes']} nodes; commit {m['commit']}).\n")
            names = list(next(iter(result["stages"].values())))
            print("| table | " + " | ".join(names) + " |")
            print("|---|" + "---:|" * len(names))
            for kind, row in result["stages"].items():
                print(f"| {kind} | " + " | ".join(f"{row[name]:,.1f}" for name in names) + " |")
            print()
            continue
        print(f"## {area}\n")
        versions = ", ".join(f"{k} {v}" for k, v in sorted(m["versions"].items()))
        print(f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}; fastring {m['fastring']}")
        print(f"({m['implementation']}, commit {m['commit']}); {versions}.\n")
        print("| workload | contender | time | unit |")
        print("|---|---|---:|---|")
        for row in result["rows"]:
            for name, ns in row["ns_per_key"].items():
                print(f"| {row['row']} | {name} | {ns:,.1f} | {row.get('unit', 'ns/key')} |")
        print()
        # The speed-ups, without the project's internal targets (those live in bench/).
        print("| workload: peer / fastring | speed-up |")
        print("|---|---:|")
        for row in result["rows"]:
            print(f"| {row['row']}: {row['peer']} / {row['ours']} | {row['ratio']:.2f}× |")
        print()
        print(f"![Speed-ups, {area}](_generated/bench-{area}.png)\n")


if __name__ == "__main__":
    main()
