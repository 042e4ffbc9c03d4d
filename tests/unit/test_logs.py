"""The two log formats `overcast up` writes: text with key=value fields, and one JSON object
per line; a real bug keeps its traceback in both."""

from __future__ import annotations

import json
import logging
import sys

from overcast.logs import JsonFormatter, TextFormatter


def record(msg: str, fields: dict | None = None, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise KeyError("bug")
        except KeyError:
            exc_info = sys.exc_info()
    made = logging.LogRecord("overcast.test", logging.INFO, __file__, 1, msg, None, exc_info)
    if fields is not None:
        made.fields = fields  # what logs.event passes in `extra`
    return made


def test_json_lines_carry_ts_level_logger_msg_and_the_fields() -> None:
    line = JsonFormatter().format(record("ec2 DescribeInstances 200",
                                         {"status": 200, "project": "p1", "user": None}))
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "overcast.test"
    assert entry["msg"] == "ec2 DescribeInstances 200" and entry["status"] == 200
    assert entry["project"] == "p1" and entry["ts"].endswith("+00:00")
    assert "\n" not in line


def test_a_bug_keeps_its_traceback_in_one_json_line() -> None:
    line = JsonFormatter().format(record("tick failed", exc=True))
    assert "\n" not in line
    assert "Traceback" in json.loads(line)["exc"] and "KeyError" in json.loads(line)["exc"]


def test_text_lines_append_fields_and_quote_what_needs_it() -> None:
    line = TextFormatter().format(record("instance i-1 pending -> running",
                                         {"reason": "booted", "why": "a b", "skip": None}))
    assert line.endswith('overcast.test: instance i-1 pending -> running reason=booted '
                         'why="a b"')
    assert "Traceback" in TextFormatter().format(record("tick failed", exc=True))
