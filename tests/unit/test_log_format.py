"""EVENTAPI_LOG_FORMAT: JSON records are one object a line with the caller's fields;
text records keep them as key=value; `auto` picks text for a terminal only."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from entrypoints.logs import JsonFormatter, TextFormatter, logging_config, resolve_format
from entrypoints.settings import ConfigurationError, Settings

ENV = {"EVENTAPI_ENV": "test", "EVENTAPI_SECRET_KEY": "s" * 40}


def record(message: str = "GET %s %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("eventapi.access", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_json_records_are_one_line_with_the_extra_fields() -> None:
    line = JsonFormatter().format(
        record("GET %s %s", "/a\nb", 200, request_id="r-1", status=200, route=None)
    )
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "GET /a\nb 200"
    assert entry["level"] == "info"
    assert entry["logger"] == "eventapi.access"
    assert entry["time"].endswith("+00:00")
    assert isinstance(entry["pid"], int)
    assert (entry["request_id"], entry["status"], entry["route"]) == ("r-1", 200, None)


def test_json_records_carry_the_traceback_as_a_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("eventapi.http", logging.ERROR, "", 1, "x", None, sys.exc_info())
    entry = json.loads(JsonFormatter().format(failed))
    assert "ValueError: boom" in entry["exception"]


def test_text_records_end_with_the_fields() -> None:
    line = TextFormatter().format(record("batch", event="outbox.batch", sent=3))
    assert line.endswith("INFO eventapi.access: batch event=outbox.batch sent=3")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_text_on_a_terminal_and_json_otherwise() -> None:
    assert resolve_format("auto", Terminal()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", Terminal()) == "json"
    assert resolve_format("text", io.StringIO()) == "text"


def test_uvicorns_access_log_is_off_and_ours_is_on() -> None:
    config = logging_config("json")
    assert config["loggers"]["uvicorn.access"]["propagate"] is False
    assert config["loggers"]["uvicorn.access"]["level"] == "WARNING"
    assert config["loggers"]["eventapi"]["level"] == "INFO"
    assert config["formatters"]["eventapi"]["()"] == "entrypoints.logs.JsonFormatter"


def test_the_setting_accepts_json_text_or_auto_only() -> None:
    assert Settings.from_environment(ENV).log_format == "auto"
    assert Settings.from_environment({**ENV, "EVENTAPI_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigurationError, match="EVENTAPI_LOG_FORMAT"):
        Settings.from_environment({**ENV, "EVENTAPI_LOG_FORMAT": "xml"})


def test_the_outbox_retention_is_whole_days() -> None:
    assert Settings.from_environment(ENV).worker.outbox_retention_days == 30
    chosen = Settings.from_environment({**ENV, "EVENTAPI_OUTBOX_RETENTION": "7"})
    assert chosen.worker.outbox_retention.days == 7
    for bad in ("0", "7d", "-1"):
        with pytest.raises(ConfigurationError, match="EVENTAPI_OUTBOX_RETENTION"):
            Settings.from_environment({**ENV, "EVENTAPI_OUTBOX_RETENTION": bad})
