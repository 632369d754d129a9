"""Benchmarks of the gateway, run against the real server process.

``python -m bench <benchmark> [options]``; each benchmark module exposes a
:class:`Benchmark` and is listed in ``bench.__main__.BENCHMARKS``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    """One ``python -m bench`` subcommand."""

    name: str
    help: str
    # Adds the benchmark's own options to its subcommand's parser.
    configure: Callable[[argparse.ArgumentParser], None]
    # Runs it with the parsed options; returns the process exit status.
    run: Callable[[argparse.Namespace], int]
