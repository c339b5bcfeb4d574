"""CoordinatorService over gRPC: each RPC converts, calls the domain, converts back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from cocoa.coordinator.v1 import coordinator_pb2 as pb
from cocoa.coordinator.v1 import coordinator_pb2_grpc as pb_grpc
from cocoa_common import jobtypes as jt
from cocoa_coordinator import convert
from cocoa_coordinator.dispatcher import Dispatcher
from cocoa_coordinator.schedules import ScheduleService
from cocoa_coordinator.service import GroupCounts, JobService, TypeCounts

ACTIONS = {
    pb.CONTROL_ACTION_PAUSE: "pause",
    pb.CONTROL_ACTION_RESUME: "resume",
    pb.CONTROL_ACTION_CANCEL: "cancel",
}


BULK_ACTIONS = {
    pb.BULK_ACTION_PAUSE: "pause",
    pb.BULK_ACTION_RESUME: "resume",
    pb.BULK_ACTION_CANCEL: "cancel",
    pb.BULK_ACTION_RETRY: "retry",
    pb.BULK_ACTION_PROMOTE: "promote",
}


class CoordinatorServicer(pb_grpc.CoordinatorServiceServicer):
    def __init__(self, jobs: JobService, dispatcher: Dispatcher, schedules: ScheduleService) -> None:
        self.jobs = jobs
        self.dispatcher = dispatcher
        self.schedules = schedules

    async def CreateJob(
        self, request: pb.CreateJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateJobResponse:
        job, created = await self.jobs.create(
            request.type,
            request.data_json,
            is_dynamic=request.is_dynamic,
            created_by_id=request.created_by_id or None,
            idempotency_key=request.idempotency_key or None,
            priority=request.priority,
            run_at=jt.run_at_of(request.run_at, request.HasField("run_at")),
            depends_on=list(request.depends_on),
            max_attempts=request.max_attempts or None,
            timeout_seconds=request.timeout_seconds or None,
            expires_at=jt.run_at_of(
                request.expires_at, request.HasField("expires_at"), name="expires_at", field="expiresAt"
            ),
            group=request.group or None,
        )
        return pb.CreateJobResponse(job=convert.view_to_pb(await self.jobs.view(job)), created=created)

    async def GetJob(self, request: pb.GetJobRequest, context: grpc.aio.ServicerContext) -> pb.Job:
        view = await self.jobs.get(request.id, include_errors=request.include_errors)
        return convert.view_to_pb(view)

    async def ListJobs(
        self, request: pb.ListJobsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListJobsResponse:
        views, total = await self.jobs.list(
            convert.job_query_of(request),
            limit=request.limit,
            offset=request.offset,
            include_errors=request.include_errors,
        )
        return pb.ListJobsResponse(jobs=[convert.view_to_pb(v) for v in views], total=total)

    async def ControlJob(
        self, request: pb.ControlJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.ControlJobResponse:
        action = ACTIONS.get(request.action, "")
        job = await self.jobs.control(request.id, action, requested_by_id=request.requested_by_id or None)
        return pb.ControlJobResponse(job=convert.view_to_pb(await self.jobs.view(job)))

    async def SetJobPriority(
        self, request: pb.SetJobPriorityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Job:
        job = await self.jobs.set_priority(
            request.id, request.priority, requested_by_id=request.requested_by_id or None
        )
        return convert.view_to_pb(await self.jobs.view(job))

    async def PromoteJob(self, request: pb.PromoteJobRequest, context: grpc.aio.ServicerContext) -> pb.Job:
        job = await self.jobs.promote(request.id, requested_by_id=request.requested_by_id or None)
        return convert.view_to_pb(await self.jobs.view(job))

    async def RetryJob(
        self, request: pb.RetryJobRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateJobResponse:
        job, created = await self.jobs.retry(
            request.id,
            created_by_id=request.created_by_id or None,
            from_checkpoint=request.from_checkpoint,
            max_attempts=request.max_attempts or None,
            timeout_seconds=request.timeout_seconds or None,
        )
        return pb.CreateJobResponse(job=convert.view_to_pb(await self.jobs.view(job)), created=created)

    async def BulkControlJobs(
        self, request: pb.BulkControlRequest, context: grpc.aio.ServicerContext
    ) -> pb.BulkControlResponse:
        results, remaining = await self.jobs.bulk(
            BULK_ACTIONS.get(request.action, ""),
            ids=list(request.ids),
            where=convert.job_query_of(request),
            limit=request.limit,
            requested_by_id=request.requested_by_id or None,
            from_checkpoint=request.from_checkpoint,
        )
        return pb.BulkControlResponse(
            results=[
                pb.BulkResult(
                    id=r.job_id,
                    ok=r.job is not None,
                    error=r.error,
                    job=convert.job_to_pb(r.job) if r.job is not None else None,
                    created=r.created,
                )
                for r in results
            ],
            remaining=remaining,
        )

    async def WatchJob(
        self, request: pb.WatchJobRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.JobEvent]:
        async for event, view in self.jobs.watch(request.id, request.after_seq):
            yield convert.event_to_pb(event, job=convert.view_to_pb(view))

    async def GetJobHistory(
        self, request: pb.JobHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.JobHistory:
        events, truncated = await self.jobs.history(request.id, request.limit)
        return pb.JobHistory(events=[convert.event_to_pb(e) for e in events], truncated=truncated)

    async def ListItemErrors(
        self, request: pb.ListItemErrorsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListItemErrorsResponse:
        page, next_seq, total = await self.jobs.list_item_errors(
            request.job_id, after_seq=request.after_seq, limit=request.limit
        )
        return pb.ListItemErrorsResponse(
            errors=[convert.item_error_to_pb(e) for e in page], next_after_seq=next_seq, total=total
        )

    async def GetStats(self, request: pb.StatsRequest, context: grpc.aio.ServicerContext) -> pb.StatsResponse:
        counts = await self.jobs.counts()
        return pb.StatsResponse(types=[self._type_stats(name, entry) for name, entry in counts.items()])

    async def SetQueuePaused(
        self, request: pb.SetQueuePausedRequest, context: grpc.aio.ServicerContext
    ) -> pb.TypeStats:
        name = await self.jobs.set_queue_paused(
            request.type, request.paused, by_id=request.requested_by_id or None
        )
        return self._type_stats(name, (await self.jobs.counts())[name])

    async def SetQueueConcurrency(
        self, request: pb.SetQueueConcurrencyRequest, context: grpc.aio.ServicerContext
    ) -> pb.TypeStats:
        name = await self.jobs.set_queue_concurrency(request.type, request.concurrency or None)
        return self._type_stats(name, (await self.jobs.counts())[name])

    async def ListGroups(
        self, request: pb.ListGroupsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListGroupsResponse:
        return pb.ListGroupsResponse(groups=[_group_stats(g) for g in await self.jobs.groups()])

    async def SetGroupPaused(
        self, request: pb.SetGroupPausedRequest, context: grpc.aio.ServicerContext
    ) -> pb.GroupStats:
        group = await self.jobs.set_group_paused(
            request.group, request.paused, by_id=request.requested_by_id or None
        )
        return _group_stats(group)

    async def ListWorkers(
        self, request: pb.ListWorkersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWorkersResponse:
        return pb.ListWorkersResponse(
            workers=[convert.worker_to_pb(c) for c in self.dispatcher.connected_workers()]
        )

    async def SetWorkerDraining(
        self, request: pb.SetWorkerDrainingRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkerInfo:
        return convert.worker_to_pb(self.dispatcher.set_draining(request.worker_id, request.draining))

    def _type_stats(self, name: str, entry: TypeCounts) -> pb.TypeStats:
        workers, slots = self.dispatcher.worker_capacity().get(name, (0, 0))
        stats = pb.TypeStats(
            type=name,
            jobs_by_status=entry.by_status,
            oldest_pending_age_seconds=entry.oldest_pending_s,
            workers=workers,
            worker_slots=slots,
            paused_by_id=entry.paused_by_id or "",
            concurrency=entry.concurrency or self.jobs.settings.concurrency_for(name),
            concurrency_set=entry.concurrency is not None,
        )
        if entry.paused_at is not None:
            stats.paused_at.FromDatetime(entry.paused_at)
        self.jobs.lifecycle.fill(stats)
        return stats

    async def CreateSchedule(
        self, request: pb.CreateScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.Schedule:
        schedule = await self.schedules.create(
            name=request.name,
            cron=request.cron,
            timezone=request.timezone,
            job_type=request.type,
            data_json=request.data_json,
            is_dynamic=request.is_dynamic,
            priority=request.priority,
            created_by_id=request.created_by_id or None,
            max_attempts=request.max_attempts or None,
            timeout_seconds=request.timeout_seconds or None,
            expires_after_s=request.expires_after_seconds or None,
            group=request.group or None,
        )
        return convert.schedule_to_pb(schedule)

    async def ListSchedules(
        self, request: pb.ListSchedulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSchedulesResponse:
        return pb.ListSchedulesResponse(
            schedules=[convert.schedule_to_pb(s) for s in await self.schedules.list()]
        )

    async def GetSchedule(
        self, request: pb.ScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.Schedule:
        return convert.schedule_to_pb(await self.schedules.get(request.id))

    async def DeleteSchedule(
        self, request: pb.ScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.Schedule:
        return convert.schedule_to_pb(await self.schedules.delete(request.id))

    async def SetSchedulePaused(
        self, request: pb.SetSchedulePausedRequest, context: grpc.aio.ServicerContext
    ) -> pb.Schedule:
        return convert.schedule_to_pb(await self.schedules.set_paused(request.id, request.paused))

    async def ListJobTypes(
        self, request: pb.JobTypesRequest, context: grpc.aio.ServicerContext
    ) -> pb.JobTypesResponse:
        return pb.JobTypesResponse(
            types=list(jt.KNOWN_TYPES), connected_types=self.dispatcher.connected_types()
        )

    async def Connect(
        self, request_iterator: AsyncIterator[pb.WorkerMessage], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.CoordinatorMessage]:
        async for message in self.dispatcher.serve(request_iterator, peer=context.peer() or ""):
            yield message


def _group_stats(group: GroupCounts) -> pb.GroupStats:
    stats = pb.GroupStats(
        group=group.group, jobs_by_status=group.by_status, paused_by_id=group.paused_by_id or ""
    )
    if group.paused_at is not None:
        stats.paused_at.FromDatetime(group.paused_at)
    return stats
