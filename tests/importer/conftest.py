"""Importer fixtures: real coordinator and importer gRPC servers on free ports, uploads in tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from importer_system import ImportSystem, start_system

from cocoa_common.settings import Settings


@pytest.fixture
async def system(settings: Settings, tmp_path: Path) -> AsyncIterator[ImportSystem]:
    async for s in start_system(settings, tmp_path):
        yield s
