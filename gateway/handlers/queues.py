"""``/api/v1/queues``: each job type's queue at a glance, pausing or resuming one, and its
concurrency limit; ``/api/v1/groups``: the job groups, and pausing or resuming one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_gateway import audit, lookups, params, views
from cocoa_gateway.auth import current_user, require_admin
from cocoa_gateway.backends import backends
from cocoa_gateway.errors import bad_request

routes = web.RouteTableDef()

MAX_CONCURRENCY = 1000


@routes.get("/api/v1/queues")
async def list_queues(request: web.Request) -> web.Response:
    """Every job type: paused or not, live jobs by status, oldest pending wait, workers."""
    current_user(request)
    b = backends(request)
    stats = await b.coordinator.GetStats(cpb.StatsRequest(), timeout=b.deadline_s)
    users = await lookups.users(request, {t.paused_by_id for t in stats.types if t.paused_by_id})
    queues = [views.queue_json(t, users) for t in stats.types]
    return web.json_response({"success": True, "queues": queues, "count": len(queues)})


async def _audited(
    request: web.Request,
    action: str,
    resource: str,
    name: str,
    paused_by_id: str,
    details: Mapping[str, Any] | None = None,
) -> Mapping[str, views.UserRef]:
    """Audit a change to a queue or a group; the user who paused it, for its answer."""
    await audit.record_audit(request, action, resource=resource, resource_id=name, details=details)
    return await lookups.users(request, {paused_by_id} if paused_by_id else set())


async def _set_paused(request: web.Request, paused: bool) -> web.Response:
    user = require_admin(request)
    b = backends(request)
    change = cpb.SetQueuePausedRequest(
        type=request.match_info["type"], paused=paused, requested_by_id=user.user_id
    )
    stats = await b.coordinator.SetQueuePaused(change, timeout=b.deadline_s)
    action = audit.PAUSE_QUEUE if paused else audit.RESUME_QUEUE
    users = await _audited(request, action, "queue", stats.type, stats.paused_by_id)
    return web.json_response({"success": True, "queue": views.queue_json(stats, users)})


@routes.post("/api/v1/queues/{type}/pause")
async def pause_queue(request: web.Request) -> web.Response:
    """No job of the type is dispatched until resumed; running ones go on. 404 for an unknown type."""
    return await _set_paused(request, True)


@routes.post("/api/v1/queues/{type}/resume")
async def resume_queue(request: web.Request) -> web.Response:
    return await _set_paused(request, False)


@routes.post("/api/v1/queues/{type}/concurrency")
async def set_queue_concurrency(request: web.Request) -> web.Response:
    """``{"concurrency": n}`` (1..1000) jobs of the type may run at once from now on;
    ``{"concurrency": null}`` goes back to JOB_CONCURRENCY's value."""
    require_admin(request)
    body = await params.json_object(request)
    if "concurrency" not in body:
        raise bad_request(
            "concurrency is required (a number, or null for the configured default)", "concurrency"
        )
    concurrency = body["concurrency"]
    if concurrency is not None:
        concurrency = params.json_int(body, "concurrency", default=0, minimum=1, maximum=MAX_CONCURRENCY)
    b = backends(request)
    before = await b.coordinator.GetStats(cpb.StatsRequest(), timeout=b.deadline_s)
    change = cpb.SetQueueConcurrencyRequest(type=request.match_info["type"], concurrency=concurrency or 0)
    stats = await b.coordinator.SetQueueConcurrency(change, timeout=b.deadline_s)
    old = next((t.concurrency for t in before.types if t.type == stats.type), None)
    details = {"from": old, "to": stats.concurrency, "default": not stats.concurrency_set}
    users = await _audited(
        request, audit.SET_QUEUE_CONCURRENCY, "queue", stats.type, stats.paused_by_id, details
    )
    return web.json_response({"success": True, "queue": views.queue_json(stats, users)})


@routes.get("/api/v1/groups")
async def list_groups(request: web.Request) -> web.Response:
    """The groups with unfinished jobs (by status) and every paused group."""
    current_user(request)
    b = backends(request)
    listing = await b.coordinator.ListGroups(cpb.ListGroupsRequest(), timeout=b.deadline_s)
    users = await lookups.users(request, {g.paused_by_id for g in listing.groups if g.paused_by_id})
    groups = [views.group_json(g, users) for g in listing.groups]
    return web.json_response({"success": True, "groups": groups, "count": len(groups)})


async def _set_group_paused(request: web.Request, paused: bool) -> web.Response:
    user = require_admin(request)
    group = params.json_group(await params.json_object(request))
    if not group:
        raise bad_request("group is required", "group")
    b = backends(request)
    change = cpb.SetGroupPausedRequest(group=group, paused=paused, requested_by_id=user.user_id)
    stats = await b.coordinator.SetGroupPaused(change, timeout=b.deadline_s)
    action = audit.PAUSE_GROUP if paused else audit.RESUME_GROUP
    users = await _audited(request, action, "group", stats.group, stats.paused_by_id)
    return web.json_response({"success": True, "group": views.group_json(stats, users)})


@routes.post("/api/v1/groups/pause")
async def pause_group(request: web.Request) -> web.Response:
    """``{"group": "..."}``: none of the group's pending jobs, of any type, starts until resumed."""
    return await _set_group_paused(request, True)


@routes.post("/api/v1/groups/resume")
async def resume_group(request: web.Request) -> web.Response:
    return await _set_group_paused(request, False)
