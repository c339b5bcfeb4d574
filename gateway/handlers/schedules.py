"""``/api/v1/schedules``: recurring jobs on a cron schedule (create, list, read, pause, delete)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_common import jobtypes as jt
from cocoa_gateway import audit, lookups, params, views
from cocoa_gateway.auth import current_user, require_admin
from cocoa_gateway.backends import backends
from cocoa_gateway.errors import bad_request
from cocoa_gateway.handlers.jobs import check_geocoding_data, data_json_of

routes = web.RouteTableDef()


async def _json(request: web.Request, schedules: Iterable[cpb.Schedule]) -> list[dict[str, Any]]:
    schedules = list(schedules)
    users = await lookups.users(request, {s.created_by_id for s in schedules if s.created_by_id})
    return [views.schedule_json(s, users) for s in schedules]


def _create_request(body: dict[str, Any], user_id: str) -> cpb.CreateScheduleRequest:
    job_type = params.json_text(body, "type")
    if job_type is None or jt.canonical(job_type) is None:
        known = ", ".join(jt.KNOWN_TYPES)
        raise bad_request(f"type must be one of {known}", "type", knownTypes=list(jt.KNOWN_TYPES))
    data_json = data_json_of(body.get("data"))
    if jt.canonical(job_type) == jt.GEOCODING:
        check_geocoding_data(data_json)  # the rules of POST /api/v1/jobs, checked once, not at each run
    return cpb.CreateScheduleRequest(
        name=params.json_text(body, "name") or "",
        cron=params.json_text(body, "cron") or "",
        timezone=params.json_text(body, "timezone") or "UTC",
        type=job_type,
        data_json=data_json,
        is_dynamic=params.json_bool(body, "isDynamic", default=False),
        priority=params.json_priority(body),
        **params.json_limits(body),
        expires_after_seconds=params.json_int(
            body, "expiresAfterSeconds", default=0, minimum=1, maximum=jt.MAX_DELAY_S
        ),
        group=params.json_group(body),
        created_by_id=user_id,
    )


@routes.get("/api/v1/schedules")
async def list_schedules(request: web.Request) -> web.Response:
    current_user(request)
    b = backends(request)
    response = await b.coordinator.ListSchedules(cpb.ListSchedulesRequest(), timeout=b.deadline_s)
    schedules = await _json(request, response.schedules)
    return web.json_response({"success": True, "schedules": schedules, "count": len(schedules)})


@routes.post("/api/v1/schedules")
async def create_schedule(request: web.Request) -> web.Response:
    """201 with the schedule: ``{name, cron, timezone?, type, data, isDynamic?}``."""
    user = require_admin(request)
    create = _create_request(await params.json_object(request), user.user_id)
    b = backends(request)
    schedule = await b.coordinator.CreateSchedule(create, timeout=b.deadline_s)
    details = {
        "name": schedule.name,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "type": schedule.type,
    }
    await audit.record_audit(
        request, audit.CREATE_SCHEDULE, resource="schedule", resource_id=schedule.id, details=details
    )
    [body] = await _json(request, [schedule])
    return web.json_response({"success": True, "schedule": body}, status=201)


@routes.get("/api/v1/schedules/{id}")
async def read_schedule(request: web.Request) -> web.Response:
    current_user(request)
    b = backends(request)
    get = cpb.ScheduleRequest(id=request.match_info["id"])
    [body] = await _json(request, [await b.coordinator.GetSchedule(get, timeout=b.deadline_s)])
    return web.json_response(body)


@routes.delete("/api/v1/schedules/{id}")
async def delete_schedule(request: web.Request) -> web.Response:
    """The schedule goes; the jobs it created stay."""
    require_admin(request)
    b = backends(request)
    delete = cpb.ScheduleRequest(id=request.match_info["id"])
    schedule = await b.coordinator.DeleteSchedule(delete, timeout=b.deadline_s)
    await audit.record_audit(
        request,
        audit.DELETE_SCHEDULE,
        resource="schedule",
        resource_id=schedule.id,
        details={"name": schedule.name},
    )
    return web.json_response({"success": True, "message": "Schedule deleted"})


async def _set_paused(request: web.Request, paused: bool) -> web.Response:
    require_admin(request)
    b = backends(request)
    change = cpb.SetSchedulePausedRequest(id=request.match_info["id"], paused=paused)
    schedule = await b.coordinator.SetSchedulePaused(change, timeout=b.deadline_s)
    action = audit.PAUSE_SCHEDULE if paused else audit.RESUME_SCHEDULE
    await audit.record_audit(request, action, resource="schedule", resource_id=schedule.id)
    [body] = await _json(request, [schedule])
    return web.json_response({"success": True, "schedule": body})


@routes.post("/api/v1/schedules/{id}/pause")
async def pause_schedule(request: web.Request) -> web.Response:
    return await _set_paused(request, True)


@routes.post("/api/v1/schedules/{id}/resume")
async def resume_schedule(request: web.Request) -> web.Response:
    """Resumes counting from now: the times missed while paused are not made up."""
    return await _set_paused(request, False)
