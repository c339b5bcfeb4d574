"""Logging set-up, called once from each process's entry point.

Two formats (``LOG_FORMAT``):

- ``text`` (default): ``<time> <service> <LEVEL> [<request id>] job=<id> <logger>: <message>``,
  where ``job=`` appears only on lines written while a worker runs a job;
- ``json``: one object per line for log collectors (Loki, Elasticsearch, CloudWatch):
  ``{"time", "level", "service", "logger", "message", "requestId", "jobId", "exception"?}``, with
  ``null`` ids outside a request or job and a traceback only when there is one.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from cocoa_common import requestid

FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line whatever the message or traceback holds."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "requestId": _id(getattr(record, "request_id", requestid.NONE)),
            "jobId": _id(getattr(record, "job_id", requestid.NONE)),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _id(value: str) -> str | None:
    return None if value == requestid.NONE else value


def text_formatter(service: str) -> logging.Formatter:
    return logging.Formatter(
        f"%(asctime)s {service} %(levelname)s [%(request_id)s]%(job)s %(name)s: %(message)s"
    )


def configure(level: str = "INFO", service: str = "cocoa", fmt: str = "text") -> None:
    """Log lines name the service, and the request and job they serve."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(requestid.LogFilter())
    handler.setFormatter(JsonFormatter(service) if fmt == "json" else text_formatter(service))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
