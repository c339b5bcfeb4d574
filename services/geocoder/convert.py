"""Translation between the geocoder's domain values and its protobuf messages."""

from __future__ import annotations

from cocoa.geocoder.v1 import geocoder_pb2 as pb
from cocoa_common.models import Household
from cocoa_geocoder.households import HouseholdFilter
from cocoa_geocoder.providers.base import GeocodeResult
from cocoa_geocoder.service import AddressInput

GEOCODED_FILTER = {0: None, 1: True, 2: False}


def address_from_pb(message: pb.AddressInput, index: int) -> AddressInput:
    return AddressInput(
        id=message.id or str(index),
        street=message.street,
        city=message.city,
        state=message.state,
        zip=message.zip,
        one_line=message.one_line,
    )


def result_to_pb(result: GeocodeResult, item: AddressInput) -> pb.GeocodeResult:
    located = result.status == "match" and result.latitude is not None and result.longitude is not None
    return pb.GeocodeResult(
        id=item.id,
        input=item.display(),
        matched=located,
        has_coordinates=located,
        latitude=result.latitude or 0.0,
        longitude=result.longitude or 0.0,
        precision=result.precision or "",
        confidence=result.confidence or 0.0,
        matched_address=result.matched_address or "",
        provider=result.provider if located else "",
        error="" if located else (result.error or result.status),
    )


def filter_from_pb(message: pb.HouseholdFilter) -> HouseholdFilter:
    return HouseholdFilter(
        city=message.city,
        state=message.state,
        zip_code=message.zip_code,
        county=message.county,
        precinct_number=message.precinct_number,
        search=message.search,
        geocoded=GEOCODED_FILTER.get(message.geocoded),
    )


def household_to_pb(h: Household) -> pb.Household:
    message = pb.Household(
        id=str(h.id),
        house_number=h.house_number,
        pre_direction=h.predir,
        street_name=h.street_name,
        street_suffix=h.suffix,
        post_direction=h.postdir,
        unit_type=h.unit_type,
        unit=h.unit,
        city=h.city,
        state=h.state,
        zip_code=h.zip_code,
        county=h.county,
        precinct_number=h.precinct,
        full_address=h.full_address,
        person_count=h.person_count,
        geocoded=h.geocoded,
        has_coordinates=h.latitude is not None and h.longitude is not None,
        latitude=h.latitude or 0.0,
        longitude=h.longitude or 0.0,
        geocoding_provider=h.geocoding_provider or "",
        geocode_precision=h.geocode_precision or "",
        has_confidence=h.geocode_confidence is not None,
        geocode_confidence=h.geocode_confidence or 0.0,
        geocode_error=h.geocode_error or "",
        parcel_id=str(h.parcel_id) if h.parcel_id is not None else "",
    )
    if h.geocoded_at is not None:
        message.geocoded_at.FromDatetime(h.geocoded_at)
    return message
