"""``/api/v1/workers``: the connected worker processes, and draining one before it is scaled down."""

from __future__ import annotations

from aiohttp import web

from cocoa.coordinator.v1 import coordinator_pb2 as cpb
from cocoa_gateway import audit, views
from cocoa_gateway.auth import current_user, require_admin
from cocoa_gateway.backends import backends

routes = web.RouteTableDef()


@routes.get("/api/v1/workers")
async def list_workers(request: web.Request) -> web.Response:
    """Every connected worker: its service, types, capacity, the jobs it holds, when last heard."""
    current_user(request)
    b = backends(request)
    response = await b.coordinator.ListWorkers(cpb.ListWorkersRequest(), timeout=b.deadline_s)
    workers = [views.worker_json(w) for w in response.workers]
    return web.json_response({"success": True, "workers": workers, "count": len(workers)})


async def _set_draining(request: web.Request, draining: bool) -> web.Response:
    require_admin(request)
    b = backends(request)
    change = cpb.SetWorkerDrainingRequest(worker_id=request.match_info["id"], draining=draining)
    worker = await b.coordinator.SetWorkerDraining(change, timeout=b.deadline_s)
    action = audit.DRAIN_WORKER if draining else audit.RESUME_WORKER
    details = {"service": worker.service, "jobs": list(worker.job_ids)}
    await audit.record_audit(
        request, action, resource="worker", resource_id=worker.worker_id, details=details
    )
    return web.json_response({"success": True, "worker": views.worker_json(worker)})


@routes.post("/api/v1/workers/{id}/drain")
async def drain_worker(request: web.Request) -> web.Response:
    """The worker finishes the jobs it holds and is given no new one; 404 for an unknown worker."""
    return await _set_draining(request, True)


@routes.post("/api/v1/workers/{id}/resume")
async def resume_worker(request: web.Request) -> web.Response:
    return await _set_draining(request, False)
