"""`EXPLAIN` for any Core statement, bound parameters included (PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ClauseElement, Executable
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler


class Explain(Executable, ClauseElement):
    """`connection.execute(Explain(select(...), analyze=True))` returns the plan lines."""

    inherit_cache = False

    def __init__(self, statement: ClauseElement, *, analyze: bool = False) -> None:
        self.statement = statement
        self.analyze = analyze


@compiles(Explain, "postgresql")
def _explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    options = "(ANALYZE, BUFFERS) " if element.analyze else ""
    return f"EXPLAIN {options}{compiler.process(element.statement, **kw)}"
