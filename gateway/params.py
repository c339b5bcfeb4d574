"""Parsing and validating request input; every failure is a 400 naming the parameter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from aiohttp import web
from aiohttp.typedefs import Handler
from google.protobuf.timestamp_pb2 import Timestamp

from cocoa_common import errors, jsontext
from cocoa_common import jobtypes as jt
from cocoa_gateway.errors import ApiError, bad_request

MAX_IDEMPOTENCY_KEY = 200
MAX_ID_LENGTH = 32  # the jobs table's id column
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
INT32_MAX = 2**31 - 1  # the largest offset the gRPC list requests carry
INT64_MAX = 2**63 - 1  # the largest sequence number (item error cursors)


@web.middleware
async def utf8_query_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A query parameter whose percent-escapes are not UTF-8 is a 400 naming it, rather than text
    aiohttp would quietly fill with replacement characters (and a job would then store)."""
    raw = request.rel_url.raw_query_string
    if "%" in raw:
        for pair in raw.split("&"):
            name, _, value = pair.partition("=")
            try:
                for part in (name, value):
                    unquote_to_bytes(part.replace("+", " ")).decode()
            except UnicodeDecodeError:
                shown = unquote(name, errors="replace")
                raise bad_request(f"{shown} must be UTF-8 text", shown) from None
    return await handler(request)


def text(query: Mapping[str, str], name: str) -> str | None:
    """A stripped query parameter; empty means absent."""
    value = no_nul(query.get(name, ""), name).strip()
    return value or None


def no_nul(value: str, name: str) -> str:
    """No text the database stores or compares may hold a NUL character."""
    if "\x00" in value:
        raise bad_request(f"{name} must not contain NUL characters", name)
    return value


def integer(query: Mapping[str, str], name: str, *, default: int, minimum: int, maximum: int) -> int:
    """An integer query parameter within ``minimum..maximum``."""
    raw = text(query, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _range_error(name, minimum, maximum) from None
    return check_range(value, name, minimum, maximum)


def check_range(value: int, name: str, minimum: int, maximum: int) -> int:
    if value < minimum or value > maximum:
        raise _range_error(name, minimum, maximum)
    return value


def _range_error(name: str, minimum: int, maximum: int) -> ApiError:
    return bad_request(f"{name} must be an integer between {minimum} and {maximum}", name)


def boolean(query: Mapping[str, str], name: str, *, default: bool) -> bool:
    """A ``true``/``false`` query parameter."""
    raw = text(query, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise bad_request(f"{name} must be true or false", name)


def listed(query: Mapping[str, str], name: str) -> list[str]:
    """Repeated or comma-separated values: ``status=a&status=b`` or ``status=a,b``."""
    values: list[str] = []
    getall = getattr(query, "getall", None)
    raws = getall(name, []) if getall else [query.get(name, "")]
    for raw in raws:
        values.extend(part.strip() for part in no_nul(raw, name).split(",") if part.strip())
    return values


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object (bodies over the app's 1 MiB limit are a 413), with no NUL
    character in any string: these bodies are filters, names and job input the database compares."""
    body = parse_json_object(await request.read())
    if _holds_nul(body):
        raise bad_request("JSON body must not contain NUL characters (\\u0000)")
    return body


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Body bytes as a JSON object, or a 400 saying what is wrong."""
    if not raw.strip():
        raise bad_request("Invalid JSON body")
    try:
        body = jsontext.loads(raw)
    except json.JSONDecodeError as exc:
        detail = f": {exc.msg}" if exc.msg == jsontext.NESTED_TOO_DEEPLY else ""
        raise bad_request(f"Invalid JSON body{detail}") from None
    except UnicodeDecodeError:
        raise bad_request("Invalid JSON body") from None
    if not isinstance(body, dict):
        raise bad_request("JSON body must be an object")
    return body


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def json_int(body: Mapping[str, Any], name: str, *, default: int, minimum: int, maximum: int) -> int:
    """An integer member of a JSON body (booleans are not integers here)."""
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _range_error(name, minimum, maximum)
    return check_range(value, name, minimum, maximum)


def json_priority(body: Mapping[str, Any]) -> int:
    """A job's ``priority`` in a JSON body: higher runs first, 0 when absent."""
    return json_int(body, "priority", default=0, minimum=jt.MIN_PRIORITY, maximum=jt.MAX_PRIORITY)


def field_priority(fields: Mapping[str, str]) -> int:
    """The same from a query parameter or a form field."""
    return integer(fields, "priority", default=0, minimum=jt.MIN_PRIORITY, maximum=jt.MAX_PRIORITY)


def json_bool(body: Mapping[str, Any], name: str, *, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"{name} must be true or false", name)
    return value


def json_text(body: Mapping[str, Any], name: str) -> str | None:
    """An optional string member; empty means absent."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string", name)
    return value.strip() or None


def json_ids(body: Mapping[str, Any], name: str) -> list[str]:
    """An optional list of ids: a JSON array of strings, or one string (comma-separated ids)."""
    value = body.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{name} must be an array of job ids", name)
    return ids([v.strip() for v in value if v.strip()], name)


def ids(values: list[str], name: str) -> list[str]:
    """Job ids as given, each of a plausible length (the coordinator says which exist)."""
    for value in values:
        if len(value) > MAX_ID_LENGTH:
            raise bad_request(f"{name} holds a job id longer than {MAX_ID_LENGTH} characters", name)
    return values


def json_time(body: Mapping[str, Any], name: str) -> Timestamp | None:
    """An optional ISO-8601 time with its zone (``2026-12-06T02:00:00Z``), as a Timestamp."""
    return time_value(json_text(body, name), name)


def field_time(fields: Mapping[str, str], name: str) -> Timestamp | None:
    """The same from a query parameter or a form field."""
    return time_value(text(fields, name), name)


def time_value(text: str | None, name: str) -> Timestamp | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name} must be an ISO-8601 time such as 2026-12-06T02:00:00Z", name) from None
    if when.tzinfo is None:
        raise bad_request(f"{name} must give its time zone (Z or an offset such as -05:00)", name)
    stamp = Timestamp()
    try:
        stamp.FromDatetime(when)
    except (OverflowError, ValueError):  # beyond years 1..9999 once moved to UTC
        raise bad_request(f"{name} is out of range", name) from None
    return stamp


def idempotency_key(request: web.Request) -> str:
    """The ``Idempotency-Key`` header, or "" when absent."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise bad_request(
            f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters", "Idempotency-Key"
        )
    return key


# A job's own limits: REST name -> CreateJobRequest / RetryJobRequest / UploadHeader field, bounds.
_LIMITS = {
    "maxAttempts": ("max_attempts", jt.MAX_ATTEMPTS_LIMIT),
    "timeoutSeconds": ("timeout_seconds", jt.MAX_TIMEOUT_S),
}


def json_limits(body: Mapping[str, Any]) -> dict[str, int]:
    """``maxAttempts`` and ``timeoutSeconds`` in a JSON body, as request arguments when given."""
    return {
        field: json_int(body, name, default=0, minimum=1, maximum=maximum)
        for name, (field, maximum) in _LIMITS.items()
        if body.get(name) is not None
    }


def field_limits(fields: Mapping[str, str]) -> dict[str, int]:
    """The same from query parameters or form fields."""
    return {
        field: integer(fields, name, default=0, minimum=1, maximum=maximum)
        for name, (field, maximum) in _LIMITS.items()
        if text(fields, name)
    }


def group(value: str | None) -> str:
    """A job's ``group``, checked as the coordinator checks it; "" when none."""
    try:
        return jt.group_of(value) or ""
    except errors.InvalidArgument as exc:
        raise bad_request(exc.message, "group") from None


def json_group(body: Mapping[str, Any]) -> str:
    """``group`` in a JSON body."""
    return group(json_text(body, "group"))


def field_group(fields: Mapping[str, str]) -> str:
    """The same from a query parameter or a form field."""
    return group(text(fields, "group"))
