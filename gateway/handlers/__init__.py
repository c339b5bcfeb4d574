"""Route modules; each exposes ``routes`` (an aiohttp RouteTableDef).

To add routes, write a module with ``routes = web.RouteTableDef()`` and list it in ROUTE_MODULES.
"""

from __future__ import annotations

from types import ModuleType

from cocoa_gateway.handlers import (
    address_points,
    audit_logs,
    geocoding,
    health,
    imports,
    jobs,
    me,
    metrics,
    pages,
    queues,
    schedules,
    tokens,
    uploads,
    voters,
    workers,
)

ROUTE_MODULES: tuple[ModuleType, ...] = (
    health,
    metrics,
    pages,
    geocoding,  # before jobs: /api/v1/jobs/geocoding is a fixed path beside /api/v1/jobs/{id}
    address_points,
    imports,
    uploads,
    jobs,
    queues,
    schedules,
    workers,
    audit_logs,
    me,
    voters,
    tokens,
)
