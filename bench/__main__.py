"""python -m bench <benchmark> [options]: one subcommand per benchmark (see bench/README.md)."""

from __future__ import annotations

import argparse
import sys

from bench import Benchmark, visibility

# A new benchmark: a module exposing BENCHMARK, added here.
BENCHMARKS: list[Benchmark] = [visibility.BENCHMARK]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = root.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    for benchmark in BENCHMARKS:
        sub = commands.add_parser(benchmark.name, help=benchmark.help, description=benchmark.help)
        benchmark.configure(sub)
        sub.set_defaults(run=benchmark.run)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
