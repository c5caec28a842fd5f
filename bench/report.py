"""The results table and the issue's targets, checked."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench.load import Measurement


@dataclass
class Result:
    """Every run of one scenario on one server."""

    runs: list[Measurement] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(m.rate for m in self.runs) if self.runs else 0.0

    @property
    def p99_ms(self) -> float:
        return statistics.median(m.p99_ms for m in self.runs) if self.runs else 0.0


@dataclass
class Row:
    label: str
    eventapi: str
    ceiling: str
    ratio: float | None
    p99: str
    target: str
    passed: bool | None
    note: str = ""

    def cells(self) -> list[str]:
        verdict = {True: "pass", False: "**FAIL**", None: "—"}[self.passed]
        ratio = "—" if self.ratio is None else f"{self.ratio:.2f}"
        return [self.label, self.eventapi, self.ceiling, ratio, self.p99, self.target, verdict]


HEADER = ["scenario", "eventapi", "ceiling", "ratio", "p99 ms (eventapi / ceiling)", "target", ""]


def rate(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def comparison(
    label: str, eventapi: Result, ceiling: Result, *, at_least: float, against: Result | None = None
) -> Row:
    """eventapi against a ceiling: the throughput ratio and the p99 rule (≤ 1.5x)."""
    base = against or ceiling
    ratio = eventapi.rate / base.rate if base.rate else 0.0
    p99_ok = eventapi.p99_ms <= 1.5 * ceiling.p99_ms
    note = "" if p99_ok else f"p99 {eventapi.p99_ms / max(ceiling.p99_ms, 1e-9):.1f}x the ceiling's"
    return Row(
        label,
        f"{rate(eventapi.rate)} req/s",
        f"{rate(ceiling.rate)} req/s",
        ratio,
        f"{ms(eventapi.p99_ms)} / {ms(ceiling.p99_ms)}",
        f"≥ {at_least}x, p99 ≤ 1.5x",
        ratio >= at_least and p99_ok,
        note,
    )


def markdown(rows: list[Row], preamble: list[str]) -> str:
    lines = [*preamble, "", "| " + " | ".join(HEADER) + " |"]
    lines.append("|" + "|".join(["---"] + ["---:"] * 4 + ["---", "---"]) + "|")
    for row in rows:
        lines.append("| " + " | ".join(row.cells()) + " |")
    notes = [f"- {row.label}: {row.note}" for row in rows if row.note]
    if notes:
        lines += ["", *notes]
    failed = [row.label for row in rows if row.passed is False]
    lines += [
        "",
        f"Targets: {sum(row.passed is True for row in rows)} pass, {len(failed)} fail"
        + (f" ({', '.join(failed)})" if failed else ""),
    ]
    return "\n".join(lines) + "\n"
