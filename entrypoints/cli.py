"""The `eventapi` command line."""

from __future__ import annotations

import argparse
from importlib.metadata import version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eventapi", description="Event management service")
    parser.add_argument("--version", action="version", version=f"eventapi {version('eventapi')}")
    parser.parse_args(argv)
    parser.print_help()
    return 0
