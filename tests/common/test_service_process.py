"""A service process whose port is taken says so in one line and exits, rather than a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def test_a_service_whose_port_is_taken_exits_with_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        addr = f"127.0.0.1:{taken.getsockname()[1]}"
        env = {
            **os.environ,
            "GEOCODER_GRPC_ADDR": addr,
            "DATABASE_URL": f"sqlite:///{tmp_path}/unused.db",
            "REDIS_URL": "",
        }
        done = subprocess.run(
            [sys.executable, "-m", "cocoa_geocoder"], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    assert f"cannot listen on {addr}: the port is in use" in done.stderr
    assert "Traceback" not in done.stderr
