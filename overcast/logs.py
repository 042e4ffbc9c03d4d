"""Logging for `overcast up`: the standard `logging` module with two small formatters.

Structured events carry their fields in `extra={"fields": {...}}` (see `event`). The text
format appends them as key=value pairs; the JSON format writes one object per line with ts,
level, logger, msg and the fields (and the traceback as `exc`, when there is one).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Noisy libraries kept to warnings whatever the level asked for.
QUIET = ("alembic", "waitress.queue", "botocore", "urllib3", "pypsrp", "spnego")


def event(logger: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    """Log `msg` with structured fields, if the logger is enabled for `level`."""
    if logger.isEnabledFor(level):  # a record made directly: no caller lookup (every request)
        logger.handle(logger.makeRecord(logger.name, level, "", 0, msg, (), None,
                                        extra={"fields": fields}))


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    found = getattr(record, "fields", None)
    return found if isinstance(found, dict) else {}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _text_value(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c in text for c in ' "=\n')) else text


class TextFormatter(logging.Formatter):
    """`ts LEVEL logger: msg key=value ...`, then the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        fields = _fields(record)
        if fields:
            line += " " + " ".join(f"{k}={_text_value(v)}" for k, v in fields.items()
                                   if v is not None)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname,
                                 "logger": record.name, "msg": record.getMessage()}
        for key, value in _fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Send every log record to stderr in `fmt`, from `level` up."""
    if fmt not in FORMATS:
        raise SystemExit(f"error: log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if level.upper() not in LEVELS:
        raise SystemExit(f"error: log level must be one of {', '.join(LEVELS)}, not {level!r}")
    # neither format shows them, and every record would look them up
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
