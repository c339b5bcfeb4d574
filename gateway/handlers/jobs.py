"""``/api/v1/jobs``: list, create, read, cancel, progress, control, priority, promote, retry, bulk moves, item
errors, history, events."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_common import jobtypes as jt
from cocoa_common import jsontext
from cocoa_gateway import audit, item_errors, lookups, params, sse, views
from cocoa_gateway.auth import current_user, require_admin
from cocoa_gateway.backends import backends
from cocoa_gateway.errors import bad_request
from cocoa_gateway.handlers.geocoding import order_from_body

routes = web.RouteTableDef()

MAX_LIST_LIMIT = 200
MAX_SEARCH = 200
MAX_HISTORY = 500
ACTIONS: dict[str, tuple[cpb.ControlAction.ValueType, str, str]] = {
    "pause": (cpb.CONTROL_ACTION_PAUSE, "Job paused", audit.PAUSE_JOB),
    "resume": (cpb.CONTROL_ACTION_RESUME, "Job resumed", audit.RESUME_JOB),
    "cancel": (cpb.CONTROL_ACTION_CANCEL, "Job cancelled", audit.CANCEL_JOB),
}
INVALID_ACTION = "Invalid action. Expected pause, resume, or cancel."
BULK_ACTIONS: dict[str, cpb.BulkAction.ValueType] = {
    "pause": cpb.BULK_ACTION_PAUSE,
    "resume": cpb.BULK_ACTION_RESUME,
    "cancel": cpb.BULK_ACTION_CANCEL,
    "retry": cpb.BULK_ACTION_RETRY,
    "promote": cpb.BULK_ACTION_PROMOTE,
}
MAX_BULK = 200
# A bulk filter's members: the list route's query parameters that choose jobs.
BULK_FILTER_KEYS = ("status", "type", "createdById", "search", "createdAfter", "createdBefore", "group")
# A bulk retry makes up to 200 jobs, each in its own transaction: more than one request's time.
BULK_DEADLINE_FACTOR = 3


def _list_request(query: Any) -> cpb.ListJobsRequest:
    statuses = params.listed(query, "status")
    for status in statuses:
        if status not in views.STATUS_VALUES:
            raise bad_request(f"Invalid status: {status}. Expected one of {', '.join(jt.STATUSES)}", "status")
    types = params.listed(query, "type")
    for job_type in types:
        if jt.canonical(job_type) is None:
            raise bad_request(
                f"Invalid type: {job_type}. Expected one of {', '.join(jt.KNOWN_TYPES)}", "type"
            )
    search = params.text(query, "search") or ""
    if len(search) > MAX_SEARCH:
        raise bad_request(f"search is at most {MAX_SEARCH} characters", "search")
    return cpb.ListJobsRequest(
        statuses=[views.STATUS_VALUES[s] for s in statuses],
        types=types,
        created_by_id=params.text(query, "createdById") or "",
        limit=params.integer(query, "limit", default=50, minimum=1, maximum=MAX_LIST_LIMIT),
        offset=params.integer(query, "offset", default=0, minimum=0, maximum=params.INT32_MAX),
        include_errors=True,  # a listed job carries its errorLog like a fetched one
        search=search,
        created_after=params.field_time(query, "createdAfter"),
        created_before=params.field_time(query, "createdBefore"),
        group=params.field_group(query),
    )


@routes.get("/api/v1/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    """Newest first, with the real count of all matching jobs."""
    current_user(request)
    list_request = _list_request(request.query)
    b = backends(request)
    response = await b.coordinator.ListJobs(list_request, timeout=b.deadline_s)
    users = await lookups.creators(request, response.jobs)
    return web.json_response(
        {
            "success": True,
            "jobs": views.jobs_page(response.jobs, users),
            "total": response.total,
            "limit": list_request.limit,
            "offset": list_request.offset,
        }
    )


def _create_request(body: dict[str, Any], user_id: str, idempotency_key: str) -> cpb.CreateJobRequest:
    job_type = body.get("type")
    if not isinstance(job_type, str) or not job_type.strip():
        raise bad_request("type is required", "type", knownTypes=list(jt.KNOWN_TYPES))
    if jt.canonical(job_type) is None:
        known = ", ".join(jt.KNOWN_TYPES)
        raise bad_request(
            f"Unknown job type: {job_type}. Known types: {known}", "type", knownTypes=list(jt.KNOWN_TYPES)
        )
    data_json = data_json_of(body.get("data"))
    if jt.canonical(job_type) == jt.GEOCODING:
        check_geocoding_data(data_json)
    return cpb.CreateJobRequest(
        type=job_type,
        data_json=data_json,
        is_dynamic=params.json_bool(body, "isDynamic", default=False),
        created_by_id=user_id,
        idempotency_key=idempotency_key,
        run_at=params.json_time(body, "runAt"),
        expires_at=params.json_time(body, "expiresAt"),
        depends_on=params.json_ids(body, "dependsOn"),
        priority=params.json_priority(body),
        **params.json_limits(body),
        group=params.json_group(body),
    )


def check_geocoding_data(data_json: str) -> None:
    """A geocoding job's input passes the rules of POST /api/v1/jobs/geocoding (filters, limit,
    skipGeocoded, mode), so a bad one is a 400 now rather than a failed job later."""
    try:
        data = jsontext.loads(data_json)
    except json.JSONDecodeError:
        return  # the coordinator answers "data is not valid JSON"
    if isinstance(data, dict):
        order_from_body(data)


def data_json_of(data: Any) -> str:
    # The documents send ``data`` as a JSON string; an object is accepted too.
    if data is None:
        return "{}"
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        return json.dumps(data, separators=(",", ":"))
    raise bad_request("data must be a JSON object", "data")


@routes.post("/api/v1/jobs")
async def create_job(request: web.Request) -> web.Response:
    """201 with the new job; 200 with the first job when the Idempotency-Key was seen before."""
    user = require_admin(request)
    create = _create_request(await params.json_object(request), user.user_id, params.idempotency_key(request))
    b = backends(request)
    response = await b.coordinator.CreateJob(create, timeout=b.deadline_s)
    if response.created:
        details = {"type": create.type, "isDynamic": create.is_dynamic}
        await audit.record_audit(
            request, audit.CREATE_JOB, resource="job", resource_id=response.job.id, details=details
        )
    users = await lookups.creators(request, [response.job])
    body = {"success": True, "job": views.job_json(response.job, users)}
    return web.json_response(body, status=201 if response.created else 200)


async def get_job(request: web.Request, *, include_errors: bool = True) -> cpb.Job:
    """The job named in the path (404 ``Job not found`` from the coordinator)."""
    b = backends(request)
    get = cpb.GetJobRequest(id=request.match_info["id"], include_errors=include_errors)
    return await b.coordinator.GetJob(get, timeout=b.deadline_s)


@routes.get("/api/v1/jobs/{id}")
async def read_job(request: web.Request) -> web.Response:
    """The bare job object."""
    current_user(request)
    job = await get_job(request)
    return web.json_response(views.job_json(job, await lookups.creators(request, [job])))


async def _control(request: web.Request, action: str, user_id: str) -> cpb.Job:
    value, _, audit_action = ACTIONS[action]
    b = backends(request)
    control = cpb.ControlJobRequest(id=request.match_info["id"], action=value, requested_by_id=user_id)
    response = await b.coordinator.ControlJob(control, timeout=b.deadline_s)
    details = {"status": views.status_name(response.job)}
    await audit.record_audit(
        request, audit_action, resource="job", resource_id=response.job.id, details=details
    )
    return response.job


@routes.delete("/api/v1/jobs/{id}")
async def cancel_job(request: web.Request) -> web.Response:
    user = require_admin(request)
    await _control(request, "cancel", user.user_id)
    return web.json_response({"success": True, "message": "Job cancelled successfully"})


@routes.post("/api/v1/jobs/{id}/control")
async def control_job(request: web.Request) -> web.Response:
    """pause | resume | cancel; an illegal move is a 400 naming the current status."""
    user = require_admin(request)
    action = (await params.json_object(request)).get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise bad_request(INVALID_ACTION, "action")
    await _control(request, action, user.user_id)
    return web.json_response({"success": True, "message": ACTIONS[action][1]})


@routes.post("/api/v1/jobs/{id}/retry")
async def retry_job(request: web.Request) -> web.Response:
    """201 with a new job made from a failed or cancelled one; 200 with the retry made first when
    the job was retried before; 400 naming the status of a job that cannot be retried. An optional
    JSON body ``{"fromCheckpoint": true}`` carries on where the job stopped; ``maxAttempts`` and
    ``timeoutSeconds`` there replace the limits the retry takes over from the job."""
    user = require_admin(request)
    raw = await request.read()
    options = params.parse_json_object(raw) if raw.strip() else {}
    b = backends(request)
    retry = cpb.RetryJobRequest(
        id=request.match_info["id"],
        created_by_id=user.user_id,
        from_checkpoint=params.json_bool(options, "fromCheckpoint", default=False),
        **params.json_limits(options),
    )
    response = await b.coordinator.RetryJob(retry, timeout=b.deadline_s)
    if response.created:
        details = {
            "type": response.job.type,
            "retryOf": response.job.retry_of,
            "fromCheckpoint": retry.from_checkpoint,
        }
        await audit.record_audit(
            request, audit.RETRY_JOB, resource="job", resource_id=response.job.id, details=details
        )
    users = await lookups.creators(request, [response.job])
    body = {"success": True, "job": views.job_json(response.job, users)}
    return web.json_response(body, status=201 if response.created else 200)


@routes.post("/api/v1/jobs/{id}/priority")
async def set_job_priority(request: web.Request) -> web.Response:
    """``{"priority": n}``: where a pending or paused job stands in its queue (higher runs first);
    another status is a 400 naming it."""
    user = require_admin(request)
    body = await params.json_object(request)
    if body.get("priority") is None:
        raise bad_request("priority is required", "priority")
    priority = params.json_priority(body)
    b = backends(request)
    before = await get_job(request, include_errors=False)
    change = cpb.SetJobPriorityRequest(id=before.id, priority=priority, requested_by_id=user.user_id)
    job = await b.coordinator.SetJobPriority(change, timeout=b.deadline_s)
    details = {"from": before.priority, "to": job.priority}
    await audit.record_audit(request, audit.SET_PRIORITY, resource="job", resource_id=job.id, details=details)
    users = await lookups.creators(request, [job])
    return web.json_response({"success": True, "job": views.job_json(job, users)})


@routes.post("/api/v1/jobs/{id}/promote")
async def promote_job(request: web.Request) -> web.Response:
    """Run a delayed job now (``runAt``, or backing off after a transient failure); a job that is
    not delayed is a 400 saying why."""
    user = require_admin(request)
    b = backends(request)
    promote = cpb.PromoteJobRequest(id=request.match_info["id"], requested_by_id=user.user_id)
    job = await b.coordinator.PromoteJob(promote, timeout=b.deadline_s)
    await audit.record_audit(request, audit.PROMOTE_JOB, resource="job", resource_id=job.id)
    users = await lookups.creators(request, [job])
    return web.json_response({"success": True, "job": views.job_json(job, users)})


def _bulk_request(body: dict[str, Any], user_id: str) -> cpb.BulkControlRequest:
    action = body.get("action")
    if not isinstance(action, str) or action not in BULK_ACTIONS:
        raise bad_request("Invalid action. Expected pause, resume, cancel, retry, or promote.", "action")
    ids, where = body.get("ids"), body.get("filter")
    if (ids is None) == (where is None):
        raise bad_request(f"Give either ids (the jobs) or filter ({', '.join(BULK_FILTER_KEYS)})", "ids")
    request = cpb.BulkControlRequest(
        action=BULK_ACTIONS[action],
        requested_by_id=user_id,
        from_checkpoint=params.json_bool(body, "fromCheckpoint", default=False),
    )
    if ids is not None:
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise bad_request("ids must be a non-empty array of job ids", "ids")
        if len(ids) > MAX_BULK:
            raise bad_request(f"ids names at most {MAX_BULK} jobs", "ids")
        request.ids.extend(params.ids(ids, "ids"))
        return request
    if not isinstance(where, dict) or not where:
        raise bad_request(f"filter must be an object with {', '.join(BULK_FILTER_KEYS)}", "filter")
    unknown = sorted(set(where) - set(BULK_FILTER_KEYS))
    if unknown:
        raise bad_request(f"filter takes {', '.join(BULK_FILTER_KEYS)}, not {', '.join(unknown)}", "filter")
    # The list route's rules, so a filter means here what it means there.
    listed = _list_request({name: _filter_text(where, name) for name in where})
    request.statuses.extend(listed.statuses)
    request.types.extend(listed.types)
    request.created_by_id = listed.created_by_id
    request.search = listed.search
    request.group = listed.group
    for name in ("created_after", "created_before"):
        if listed.HasField(name):
            getattr(request, name).CopyFrom(getattr(listed, name))
    request.limit = params.json_int(body, "limit", default=MAX_BULK, minimum=1, maximum=MAX_BULK)
    return request


def _filter_text(where: dict[str, Any], name: str) -> str:
    """A filter member as the list route's query text: a string, or an array of strings."""
    value = where[name]
    if isinstance(value, list) and all(isinstance(v, str) for v in value) and name != "createdById":
        return ",".join(value)
    if not isinstance(value, str):
        raise bad_request(f"filter.{name} must be a string", "filter")
    return value


def _bulk_result_json(result: cpb.BulkResult) -> dict[str, Any]:
    if not result.ok:
        return {"id": result.id, "success": False, "error": result.error}
    entry: dict[str, Any] = {"id": result.id, "success": True, "status": views.status_name(result.job)}
    if result.job.id != result.id:  # a retry: the new job
        entry |= {"retryJobId": result.job.id, "created": result.created}
    return entry


@routes.post("/api/v1/jobs/bulk")
async def bulk_control(request: web.Request) -> web.Response:
    """One action over the jobs named in ``ids``, or over up to ``limit`` jobs ``filter`` matches
    that the action applies to; each job's outcome is reported and one failure stops nothing."""
    user = require_admin(request)
    body = await params.json_object(request)
    bulk = _bulk_request(body, user.user_id)
    b = backends(request)
    response = await b.coordinator.BulkControlJobs(bulk, timeout=b.deadline_s * BULK_DEADLINE_FACTOR)
    results = [_bulk_result_json(r) for r in response.results]
    succeeded = sum(1 for r in response.results if r.ok)
    details = {
        "action": body["action"],
        "ids" if bulk.ids else "filter": list(bulk.ids) if bulk.ids else body["filter"],
        "succeeded": succeeded,
        "failed": len(results) - succeeded,
    }
    if bulk.from_checkpoint:
        details["fromCheckpoint"] = True
    await audit.record_audit(request, audit.BULK_CONTROL, resource="job", details=details)
    return web.json_response(
        {
            "success": True,
            "action": body["action"],
            "succeeded": succeeded,
            "failed": len(results) - succeeded,
            "remaining": response.remaining,
            "results": results,
        }
    )


@routes.get("/api/v1/jobs/{id}/progress")
async def job_progress(request: web.Request) -> web.Response:
    current_user(request)
    job = await get_job(request)
    return web.json_response({"success": True, "progress": views.progress_json(job)})


@routes.get("/api/v1/jobs/{id}/errors")
async def job_item_errors(request: web.Request) -> web.StreamResponse:
    """The item-error ledger: a JSON page, or all of it as CSV."""
    current_user(request)
    job = await get_job(request, include_errors=False)
    if item_errors.wants_csv(request):
        return await item_errors.stream_csv(request, job)
    return web.json_response(await item_errors.page(request, job))


@routes.get("/api/v1/jobs/{id}/history")
async def job_history(request: web.Request) -> web.Response:
    """The job's lifecycle events, oldest first, without its progress reports."""
    current_user(request)
    limit = params.integer(request.query, "limit", default=MAX_HISTORY, minimum=1, maximum=MAX_HISTORY)
    b = backends(request)
    ask = cpb.JobHistoryRequest(id=request.match_info["id"], limit=limit)
    history = await b.coordinator.GetJobHistory(ask, timeout=b.deadline_s)
    users = await lookups.users(request, {e.by_id for e in history.events if e.by_id})
    return web.json_response(
        {
            "success": True,
            "jobId": request.match_info["id"],
            "events": [views.history_event_json(e, users) for e in history.events],
            "truncated": history.truncated,
        }
    )


@routes.get("/api/v1/jobs/{id}/events")
async def job_events_stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events of the job's updates until it is terminal and its worker has stopped."""
    current_user(request)
    after_seq = sse.last_event_id(request)
    job = await get_job(request, include_errors=False)
    return await sse.stream(request, job, after_seq)
