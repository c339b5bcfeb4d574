"""Logging set-up, called once from each process's entry point."""

from __future__ import annotations

import logging
import sys

from cocoa_common import requestid


def configure(level: str = "INFO", service: str = "cocoa") -> None:
    """Log lines name the service and the request they serve (``-`` outside one)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(requestid.LogFilter())
    logging.basicConfig(
        level=level.upper(),
        handlers=[handler],
        format=f"%(asctime)s {service} %(levelname)s [%(request_id)s] %(name)s: %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
