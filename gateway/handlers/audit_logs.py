"""The audit log, read back: who did what to which job, queue, schedule, worker or upload, and from where.

    GET /api/v1/audit-logs?action=&userId=&resource=&resourceId=&createdAfter=&createdBefore=&limit=&offset=

Admins only: rows carry callers' addresses and user agents.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from aiohttp import web

from cocoa_common.ids import iso
from cocoa_common.models import AuditLog
from cocoa_gateway import lookups, params, views
from cocoa_gateway.audit import ACTIONS
from cocoa_gateway.auth import require_admin
from cocoa_gateway.errors import bad_request
from cocoa_gateway.keys import SESSIONS
from cocoa_gateway.repository import AuditFilter, GatewayRepository

routes = web.RouteTableDef()

MAX_LIMIT = 200
MAX_ID = 64


def _filter(query: Mapping[str, str]) -> AuditFilter:
    actions = params.listed(query, "action")
    for action in actions:
        if action not in ACTIONS:
            raise bad_request(
                f"Invalid action: {action[:60]}. Expected one of {', '.join(ACTIONS)}", "action"
            )
    after, before = params.field_time(query, "createdAfter"), params.field_time(query, "createdBefore")
    return AuditFilter(
        actions=tuple(actions),
        user_id=_short(query, "userId"),
        resource=_short(query, "resource"),
        resource_id=_short(query, "resourceId"),
        created_after=after.ToDatetime(tzinfo=UTC) if after is not None else None,
        created_before=before.ToDatetime(tzinfo=UTC) if before is not None else None,
    )


def _short(query: Mapping[str, str], name: str) -> str | None:
    value = params.text(query, name)
    if value is not None and len(value) > MAX_ID:
        raise bad_request(f"{name} is at most {MAX_ID} characters", name)
    return value


def _entry_json(row: AuditLog, users: Mapping[str, views.UserRef]) -> dict[str, Any]:
    return {
        "id": row.id,
        "action": row.action,
        "resource": row.resource,
        "resourceId": row.resource_id,
        "details": views.json_object_or_empty(row.details),
        "user": users.get(row.user_id or ""),
        "ipAddress": row.ip_address,
        "userAgent": row.user_agent,
        "createdAt": iso(row.created_at),
    }


@routes.get("/api/v1/audit-logs")
async def list_audit_logs(request: web.Request) -> web.Response:
    """Newest first, with how many rows match in all."""
    require_admin(request)
    wanted = _filter(request.query)
    limit = params.integer(request.query, "limit", default=50, minimum=1, maximum=MAX_LIMIT)
    offset = params.integer(request.query, "offset", default=0, minimum=0, maximum=params.INT32_MAX)
    async with request.app[SESSIONS]() as session:
        rows, total = await GatewayRepository(session).audit_page(wanted, limit, offset)
    users = await lookups.users(request, {r.user_id for r in rows if r.user_id})
    body = {
        "success": True,
        "entries": [_entry_json(r, users) for r in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
        "actions": list(ACTIONS),  # what the action filter takes
    }
    return web.json_response(body)
