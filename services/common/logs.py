"""Logging set-up, called once from each process's entry point."""

from __future__ import annotations

import logging
import sys


def configure(level: str = "INFO", service: str = "cocoa") -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
