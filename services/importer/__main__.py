"""``python -m cocoa_importer``: run the importer until SIGTERM/SIGINT."""

from __future__ import annotations

from cocoa_common.process import run_service
from cocoa_importer.server import start_importer

if __name__ == "__main__":
    run_service("importer", start_importer)
