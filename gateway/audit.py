"""Audit log writes for user actions.

Call from a handler after the action succeeded::

    await record_audit(request, "VOTER_IMPORT_QUEUED", resource="job", resource_id=job_id,
                       details={"format": fmt, "importType": import_type})
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from cocoa_gateway.keys import PRINCIPAL, SESSIONS
from cocoa_gateway.repository import AuditEntry, GatewayRepository

logger = logging.getLogger(__name__)

CREATE_JOB = "create_job"
CANCEL_JOB = "cancel_job"
PAUSE_JOB = "pause_job"
RESUME_JOB = "resume_job"
RETRY_JOB = "retry_job"
SET_PRIORITY = "set_priority"
PROMOTE_JOB = "promote_job"
BULK_CONTROL = "bulk_control"
PAUSE_QUEUE = "pause_queue"
RESUME_QUEUE = "resume_queue"
PAUSE_GROUP = "pause_group"
RESUME_GROUP = "resume_group"
SET_QUEUE_CONCURRENCY = "set_queue_concurrency"
DRAIN_WORKER = "drain_worker"
RESUME_WORKER = "resume_worker"
CREATE_SCHEDULE = "create_schedule"
DELETE_SCHEDULE = "delete_schedule"
PAUSE_SCHEDULE = "pause_schedule"
RESUME_SCHEDULE = "resume_schedule"
CREATE_UPLOAD = "create_upload"
DELETE_UPLOAD = "delete_upload"
REVOKE_TOKEN = "revoke_token"
HOUSEHOLDS_GEOCODE_QUEUED = "HOUSEHOLDS_GEOCODE_QUEUED"
VOTER_IMPORT_QUEUED = "VOTER_IMPORT_QUEUED"
PARCEL_IMPORT = "PARCEL_IMPORT"
# Every action above, for the audit log's filter.
ACTIONS: tuple[str, ...] = (
    CREATE_JOB, CANCEL_JOB, PAUSE_JOB, RESUME_JOB, RETRY_JOB, SET_PRIORITY, PROMOTE_JOB, BULK_CONTROL,
    PAUSE_QUEUE, RESUME_QUEUE, PAUSE_GROUP, RESUME_GROUP, SET_QUEUE_CONCURRENCY, DRAIN_WORKER,
    RESUME_WORKER, CREATE_SCHEDULE, DELETE_SCHEDULE, PAUSE_SCHEDULE, RESUME_SCHEDULE, CREATE_UPLOAD,
    DELETE_UPLOAD, REVOKE_TOKEN, HOUSEHOLDS_GEOCODE_QUEUED, VOTER_IMPORT_QUEUED, PARCEL_IMPORT,
)  # fmt: skip


def client_ip(request: web.Request) -> str | None:
    """The first hop of ``X-Forwarded-For``, else the peer address."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    first = forwarded.split(",")[0].strip()
    return first[:64] or request.remote


async def record_audit(
    request: web.Request,
    action: str,
    *,
    resource: str,
    resource_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Write one audit row for the authenticated caller of ``request``.

    The action has already happened when this runs, so a failed write is logged rather than
    turned into an error response that would wrongly suggest the action failed.
    """
    principal = request.get(PRINCIPAL)
    entry = AuditEntry(
        user_id=principal.user_id if principal else None,
        action=action,
        resource=resource,
        resource_id=resource_id,
        details=details or {},
        ip_address=client_ip(request),
        user_agent=request.headers.get("User-Agent"),
    )
    try:
        async with request.app[SESSIONS].begin() as session:
            await GatewayRepository(session).add_audit(entry)
    except Exception:
        logger.exception("could not write audit row %s for %s", action, resource_id)
