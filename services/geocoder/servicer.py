"""GeocoderService over gRPC: each RPC converts, calls the domain, converts back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from cocoa.geocoder.v1 import geocoder_pb2 as pb
from cocoa.geocoder.v1 import geocoder_pb2_grpc as pb_grpc
from cocoa_geocoder import convert
from cocoa_geocoder.service import GeocoderService


class GeocoderServicer(pb_grpc.GeocoderServiceServicer):
    def __init__(self, service: GeocoderService) -> None:
        self.service = service

    async def Geocode(
        self, request: pb.GeocodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.GeocodeResponse:
        items = [convert.address_from_pb(a, i) for i, a in enumerate(request.addresses)]
        results = await self.service.geocode(items, request.provider_id or None)
        return pb.GeocodeResponse(
            results=[convert.result_to_pb(r, i) for r, i in zip(results, items, strict=True)]
        )

    async def CountHouseholds(
        self, request: pb.CountHouseholdsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CountHouseholdsResponse:
        count = await self.service.count_households(
            convert.filter_from_pb(request.filter), skip_geocoded=request.skip_geocoded
        )
        return pb.CountHouseholdsResponse(count=count)

    async def ListHouseholds(
        self, request: pb.ListHouseholdsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListHouseholdsResponse:
        rows, total = await self.service.list_households(
            convert.filter_from_pb(request.filter), limit=request.limit, offset=request.offset
        )
        return pb.ListHouseholdsResponse(households=[convert.household_to_pb(h) for h in rows], total=total)

    async def ListProviders(
        self, request: pb.ListProvidersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProvidersResponse:
        return pb.ListProvidersResponse(
            providers=[
                pb.ProviderInfo(id=pid, in_default_chain=default, offline=offline)
                for pid, default, offline in self.service.providers()
            ]
        )

    async def ImportAddressPoints(
        self, request_iterator: AsyncIterator[pb.AddressPointsChunk], context: grpc.aio.ServicerContext
    ) -> pb.ImportAddressPointsResponse:
        first = await anext(aiter(request_iterator), None)

        async def data() -> AsyncIterator[bytes]:
            if first is not None:
                yield first.data
            async for chunk in request_iterator:
                yield chunk.data

        source = first.source if first is not None else ""
        report = await self.service.import_address_points(data(), source or "api")
        return pb.ImportAddressPointsResponse(
            imported=report.imported, rejected=report.rejected, errors=report.errors
        )
