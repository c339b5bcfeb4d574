"""``python -m cocoa_coordinator``: run the coordinator until SIGTERM/SIGINT."""

from __future__ import annotations

from cocoa_common.process import run_service
from cocoa_coordinator.server import start_coordinator

if __name__ == "__main__":
    run_service("coordinator", start_coordinator)
