"""What the `eventapi` commands do; `entrypoints/cli.py` parses arguments and reports."""

from __future__ import annotations


class CommandError(Exception):
    """An expected failure: reported as one line on stderr with exit status 2."""
