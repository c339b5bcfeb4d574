"""ImporterService over gRPC: each RPC converts, calls the domain, converts back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import grpc

from cocoa.importer.v1 import importer_pb2 as pb
from cocoa.importer.v1 import importer_pb2_grpc as pb_grpc
from cocoa_common import errors, jsontext
from cocoa_common import jobtypes as jt
from cocoa_common.models import Parcel, Voter
from cocoa_importer.repository import VoterFilter
from cocoa_importer.resumable import Checksum, ResumableStatus
from cocoa_importer.service import ImporterService, UploadRequest


class ImporterServicer(pb_grpc.ImporterServiceServicer):
    def __init__(self, service: ImporterService) -> None:
        self.service = service

    async def ListFormats(
        self, request: pb.ListFormatsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFormatsResponse:
        return pb.ListFormatsResponse(
            formats=[
                pb.VoterFormat(
                    id=f.id,
                    name=f.name,
                    description=f.description,
                    supported_extensions=list(f.supported_extensions),
                    supports_incremental=f.supports_incremental,
                )
                for f in self.service.formats()
            ]
        )

    async def Upload(
        self, request_iterator: AsyncIterator[pb.UploadChunk], context: grpc.aio.ServicerContext
    ) -> pb.UploadResponse:
        request = _upload_request(await _header_first(request_iterator, "an upload"))

        late: dict[str, str] = {}
        late_run_at: list[datetime | None] = []
        late_expires_at: list[datetime | None] = []
        late_depends_on: list[tuple[str, ...]] = []
        late_options: dict[str, int] = {}  # priority and limits

        async def data() -> AsyncIterator[bytes]:
            async for chunk in request_iterator:
                if chunk.HasField("header"):  # form fields that followed the file
                    late.update({f.name: v for f, v in chunk.header.ListFields() if isinstance(v, str) and v})
                    if chunk.header.HasField("run_at"):
                        late_run_at.append(jt.run_at_of(chunk.header.run_at, True))
                    if chunk.header.HasField("expires_at"):
                        late_expires_at.append(_expires_at(chunk.header))
                    if chunk.header.depends_on:
                        late_depends_on.append(tuple(chunk.header.depends_on))
                    late_options.update(_job_options(chunk.header))
                    continue
                yield chunk.data

        def amend(first: UploadRequest) -> UploadRequest:
            return replace(
                first,
                format=late.get("format", first.format),
                import_type=late.get("import_type", first.import_type),
                options=_options(late["options_json"]) if "options_json" in late else first.options,
                expected_sha256=late.get("sha256", first.expected_sha256),
                run_at=late_run_at[-1] if late_run_at else first.run_at,
                expires_at=late_expires_at[-1] if late_expires_at else first.expires_at,
                depends_on=late_depends_on[-1] if late_depends_on else first.depends_on,
                group=late.get("group", first.group),
                **{name: late_options.get(name, getattr(first, name)) for name in JOB_OPTIONS},
            )

        accepted = await self.service.upload(request, data(), amend)
        return pb.UploadResponse(
            job_id=accepted.job_id,
            format=accepted.format,
            sha256=accepted.sha256,
            size_bytes=accepted.size_bytes,
            created=accepted.created,
        )

    async def CheckUpload(
        self, request: pb.UploadHeader, context: grpc.aio.ServicerContext
    ) -> pb.CheckUploadResponse:
        self.service.check_header(_upload_request(request))
        return pb.CheckUploadResponse()

    async def CreateResumableUpload(
        self, request: pb.CreateResumableUploadRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResumableUpload:
        status = await self.service.resumable.create(request.filename, request.length, request.created_by_id)
        return _resumable_to_pb(status)

    async def GetResumableUpload(
        self, request: pb.GetResumableUploadRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResumableUpload:
        return _resumable_to_pb(await self.service.resumable.status(request.id, request.requested_by_id))

    async def ListResumableUploads(
        self, request: pb.ListResumableUploadsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListResumableUploadsResponse:
        uploads = await self.service.resumable.open_uploads(request.created_by_id)
        return pb.ListResumableUploadsResponse(
            uploads=[_resumable_to_pb(u) for u in uploads], max_open=self.service.resumable.max_open_per_user
        )

    async def AppendResumableUpload(
        self, request_iterator: AsyncIterator[pb.AppendChunk], context: grpc.aio.ServicerContext
    ) -> pb.ResumableUpload:
        header = await _header_first(request_iterator, "an append")
        checksum = Checksum(header.checksum_algorithm, header.checksum) if header.checksum_algorithm else None
        status = await self.service.resumable.append(
            header.id, header.offset, _append_data(request_iterator), checksum, header.requested_by_id
        )
        return _resumable_to_pb(status)

    async def DeleteResumableUpload(
        self, request: pb.DeleteResumableUploadRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteResumableUploadResponse:
        await self.service.resumable.delete(request.id, request.requested_by_id)
        return pb.DeleteResumableUploadResponse()

    async def ListParcels(
        self, request: pb.ListParcelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListParcelsResponse:
        rows, total = await self.service.list_parcels(
            search=request.search,
            apn=request.apn,
            zip_code=request.zip_code,
            limit=request.limit,
            offset=request.offset,
        )
        return pb.ListParcelsResponse(parcels=[_parcel_to_pb(p, n) for p, n in rows], total=total)

    async def ListVoters(
        self, request: pb.ListVotersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListVotersResponse:
        voters, total = await self.service.list_voters(_voter_filter(request), request.limit, request.offset)
        return pb.ListVotersResponse(voters=[_voter_to_pb(v) for v in voters], total=total)


def _voter_filter(request: pb.ListVotersRequest) -> VoterFilter:
    household = request.household_id.strip()
    if household and not (household.isascii() and household.isdigit() and len(household) <= 18):
        raise errors.InvalidArgument("householdId must be a household's id (digits)", field="householdId")
    return VoterFilter(
        search=request.search.strip(),
        household_id=int(household) if household else None,
        source=request.source.strip(),
        address_flag=request.address_flag.strip(),
        zip_code=request.zip_code.strip()[:10],
    )


def _voter_to_pb(v: Voter) -> pb.Voter:
    voter = pb.Voter(
        id=str(v.id),
        source=v.source,
        source_voter_id=v.source_voter_id,
        first_name=v.first_name,
        middle_name=v.middle_name,
        last_name=v.last_name,
        name_suffix=v.name_suffix,
        birth_year=v.birth_year or 0,
        gender=v.gender,
        party=v.party,
        status=v.status,
        registration_date=v.registration_date,
        email=v.email,
        phone=v.phone,
        residential_address=v.residential_address,
        city=v.city,
        state=v.state,
        zip_code=v.zip_code,
        county=v.county,
        precinct=v.precinct,
        mailing_address=v.mailing_address,
        household_id=str(v.household_id) if v.household_id is not None else "",
        address_flag=v.address_flag or "",
        address_flag_reason=v.address_flag_reason or "",
    )
    voter.updated_at.FromDatetime(v.updated_at)
    return voter


def _resumable_to_pb(status: ResumableStatus) -> pb.ResumableUpload:
    upload = pb.ResumableUpload(
        id=status.id,
        filename=status.filename,
        length=status.length,
        offset=status.offset,
        created_by_id=status.created_by_id,
        job_id=status.job_id,
    )
    upload.created_at.FromDatetime(status.created_at)
    if status.expires_at is not None:
        upload.expires_at.FromDatetime(status.expires_at)
    return upload


async def _header_first(messages: AsyncIterator[Any], what: str) -> Any:
    """The header a client stream must open with (an UploadHeader or an AppendHeader)."""
    first = await anext(aiter(messages), None)
    if first is None or not first.HasField("header"):
        raise errors.InvalidArgument(f"the first message of {what} must be its header", field="header")
    return first.header


async def _append_data(request_iterator: AsyncIterator[pb.AppendChunk]) -> AsyncIterator[bytes]:
    async for chunk in request_iterator:
        if chunk.HasField("header"):
            raise errors.InvalidArgument("an append sends one header, first", field="header")
        yield chunk.data


def _upload_request(header: pb.UploadHeader) -> UploadRequest:
    return UploadRequest(
        kind=header.kind,
        filename=header.filename,
        format=header.format,
        import_type=header.import_type or "full",
        options=_options(header.options_json) if header.options_json else None,
        created_by_id=header.created_by_id,
        idempotency_key=header.idempotency_key,
        expected_sha256=header.sha256,
        run_at=jt.run_at_of(header.run_at, header.HasField("run_at")),
        expires_at=_expires_at(header),
        depends_on=tuple(header.depends_on),
        group=header.group or None,
        upload_id=header.upload_id,
        **_job_options(header),
    )


# UploadHeader fields that set the import job's priority and limits, when present.
JOB_OPTIONS = ("priority", "max_attempts", "timeout_seconds")


def _expires_at(header: pb.UploadHeader) -> datetime | None:
    present = header.HasField("expires_at")
    return jt.run_at_of(header.expires_at, present, name="expires_at", field="expiresAt")


def _job_options(header: pb.UploadHeader) -> dict[str, int]:
    return {name: getattr(header, name) for name in JOB_OPTIONS if header.HasField(name)}


def _options(raw: str) -> dict[str, object]:
    try:
        options = jsontext.loads(raw)
    except json.JSONDecodeError:
        raise errors.InvalidArgument("options must be a JSON object", field="options") from None
    if not isinstance(options, dict):
        raise errors.InvalidArgument("options must be a JSON object", field="options")
    return options


def _parcel_to_pb(p: Parcel, households: int) -> pb.Parcel:
    return pb.Parcel(
        id=str(p.id),
        apn=p.apn,
        source=p.source,
        house_number=p.house_number,
        pre_direction=p.predir,
        street_name=p.street_name,
        street_suffix=p.suffix,
        post_direction=p.postdir,
        unit=p.unit,
        full_address=p.full_address,
        city=p.city,
        state=p.state,
        zip_code=p.zip_code,
        has_centroid=p.centroid_latitude is not None and p.centroid_longitude is not None,
        centroid_latitude=p.centroid_latitude or 0.0,
        centroid_longitude=p.centroid_longitude or 0.0,
        household_count=households,
        owner_name=p.owner_name,
        land_use=p.land_use,
    )
