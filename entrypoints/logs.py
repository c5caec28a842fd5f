"""Log records as one JSON object a line, or as readable text (EVENTAPI_LOG_FORMAT).

Every record is written by the standard library's logging; what a caller passes
as `extra={...}` becomes fields of its own (`request_id`, `status`, `sent`, ...),
so a log pipeline can filter on them without parsing the message. The fields
each kind of record carries are listed in docs/configuration.md#logs.

Nothing that logs here is given a secret: request records carry the route, the
path without its query string and the status, never headers or bodies; worker
records carry counts, row ids and the relay's or provider's error text.
"""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

#: The attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
    # uvicorn's own records repeat their message with terminal colours in this one.
    | {"color_message"}
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "pid", ...extra}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        entry.update(extra_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic `time LEVEL logger: message`, then the extra fields as key=value."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={value}" for key, value in extra_fields(record).items())
        line = super().formatMessage(record)
        return f"{line} {fields}" if fields else line


def resolve_format(name: str, stream: TextIO | None = None) -> str:
    """`json` or `text`: `auto` is text on a terminal, json otherwise."""
    if name != "auto":
        return name
    stream = stream or sys.stderr
    return "text" if stream.isatty() else "json"


def logging_config(name: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary: eventapi's records (INFO and up) and
    uvicorn's own (its start and stop lines; its access log is off, our request
    records replace it), everything else at WARNING, all on stderr."""
    formatter = JsonFormatter if resolve_format(name) == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"eventapi": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "eventapi",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            "eventapi": {"level": "INFO"},
            "application": {"level": "INFO"},
            "uvicorn": {"level": "INFO", "handlers": [], "propagate": True},
            "uvicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }


def configure_logging(name: str) -> None:
    """Set this process's logging up (see `logging_config`)."""
    logging.config.dictConfig(logging_config(name))
