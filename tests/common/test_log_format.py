"""Log lines name the request and the job they serve, as text for people or as one JSON object per
line for log collectors (LOG_FORMAT)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from cocoa_common import logs, requestid
from cocoa_common.settings import Settings, SettingsError


def record(message: str, *args: object, exc_info: bool = False) -> logging.LogRecord:
    """A record as a handler with the request-id filter sees it, in the current context."""
    made = logging.getLogger("cocoa_importer.voter_job").makeRecord(
        "cocoa_importer.voter_job", logging.INFO, __file__, 1, message, args, None
    )
    if exc_info:
        try:
            raise ValueError("a bad row")
        except ValueError:
            made.exc_info = sys.exc_info()
    requestid.LogFilter().filter(made)
    return made


@pytest.fixture
def in_a_job() -> Iterator[None]:
    request_token = requestid.current.set("upload-7")
    job_token = requestid.current_job.set("c0job")
    yield
    requestid.current_job.reset(job_token)
    requestid.current.reset(request_token)


def test_a_json_line_carries_the_service_request_and_job(in_a_job: None) -> None:
    line = logs.JsonFormatter("importer").format(record("batch %s stored", 3))
    entry = json.loads(line)
    assert entry["message"] == "batch 3 stored"
    assert (entry["service"], entry["level"], entry["logger"]) == (
        "importer",
        "INFO",
        "cocoa_importer.voter_job",
    )
    assert (entry["requestId"], entry["jobId"]) == ("upload-7", "c0job")
    assert entry["time"].endswith("Z")
    assert "exception" not in entry


def test_a_json_line_outside_a_request_has_null_ids() -> None:
    entry = json.loads(logs.JsonFormatter("gateway").format(record("listening")))
    assert (entry["requestId"], entry["jobId"]) == (None, None)


def test_a_traceback_stays_on_the_json_line() -> None:
    line = logs.JsonFormatter("importer").format(record("crashed\nbadly", exc_info=True))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "crashed\nbadly"
    assert entry["exception"].splitlines()[-1] == "ValueError: a bad row"


def test_a_text_line_names_the_job_only_inside_one(in_a_job: None) -> None:
    formatter = logs.text_formatter("importer")
    assert "[upload-7] job=c0job cocoa_importer.voter_job: batch 3 stored" in formatter.format(
        record("batch %s stored", 3)
    )


def test_a_text_line_outside_a_job_is_as_before() -> None:
    assert "INFO [-] cocoa_importer.voter_job: listening" in logs.text_formatter("importer").format(
        record("listening")
    )


def test_log_format_is_read_from_the_environment() -> None:
    assert Settings.from_env({"LOG_FORMAT": "JSON"}).log_format == "json"
    assert Settings.from_env({}).log_format == "text"


def test_an_unknown_log_format_is_refused_with_the_choices() -> None:
    with pytest.raises(SettingsError, match="LOG_FORMAT must be one of text, json, got 'xml'"):
        Settings.from_env({"LOG_FORMAT": "xml"})
