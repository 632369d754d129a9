"""python -m bench [--quick]: the side-by-side suite (bench/suite.py); python -m bench
<benchmark> [options]: one of the focused benchmarks (see bench/README.md)."""

from __future__ import annotations

import argparse
import sys

from bench import Benchmark, growth, suite, visibility

# A new benchmark: a module exposing BENCHMARK, added here.
BENCHMARKS: list[Benchmark] = [visibility.BENCHMARK, growth.BENCHMARK]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = root.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    for benchmark in BENCHMARKS:
        sub = commands.add_parser(benchmark.name, help=benchmark.help, description=benchmark.help)
        benchmark.configure(sub)
        sub.set_defaults(run=benchmark.run)
    return root


def suite_parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m bench", description=suite.__doc__)
    suite.configure(root)
    return root


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in {b.name for b in BENCHMARKS}:
        args = parser().parse_args(argv)
        status: int = args.run(args)
        return status
    return suite.run(suite_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
