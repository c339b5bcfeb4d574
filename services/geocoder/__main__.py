"""``python -m cocoa_geocoder``: run the geocoder until SIGTERM/SIGINT."""

from __future__ import annotations

from cocoa_common.process import run_service
from cocoa_geocoder.server import start_geocoder

if __name__ == "__main__":
    run_service("geocoder", start_geocoder)
