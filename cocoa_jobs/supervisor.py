"""Starts the services as child processes, watches them, and stops them cleanly.

Used by ``make run`` and by the end-to-end tests, so both exercise the same process layout.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

SERVICES = ("coordinator", "geocoder", "importer", "gateway")
MODULES = {
    "coordinator": "cocoa_coordinator",
    "geocoder": "cocoa_geocoder",
    "importer": "cocoa_importer",
    "gateway": "cocoa_gateway",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@dataclass
class ServiceProcess:
    """One service's child process, restartable."""

    name: str
    env: dict[str, str]
    log_path: str | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    _log: object = field(default=None, repr=False)

    def start(self) -> None:
        log = open(self.log_path, "ab") if self.log_path else None
        self._log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", MODULES[self.name]],
            env=self.env,
            stdout=log or None,
            stderr=subprocess.STDOUT if log else None,
        )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._close_log()

    def kill(self) -> None:
        """SIGKILL: the crash a worker must survive."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None


@dataclass
class Addresses:
    host: str
    coordinator: int
    geocoder: int
    importer: int
    gateway: int

    def env(self) -> dict[str, str]:
        return {
            "COORDINATOR_GRPC_ADDR": f"{self.host}:{self.coordinator}",
            "GEOCODER_GRPC_ADDR": f"{self.host}:{self.geocoder}",
            "IMPORTER_GRPC_ADDR": f"{self.host}:{self.importer}",
            "GATEWAY_HOST": self.host,
            "GATEWAY_PORT": str(self.gateway),
        }


def _port_of(addr: str) -> int:
    return int(addr.rsplit(":", 1)[1])


class Supervisor:
    """Runs the four services with one environment; restarts a service that dies unexpectedly."""

    def __init__(
        self, env: Mapping[str, str], log_dir: str | None = None, services: tuple[str, ...] = SERVICES
    ):
        self.env = dict(env)
        self.log_dir = log_dir
        self.services = {
            name: ServiceProcess(name, self.env, os.path.join(log_dir, f"{name}.log") if log_dir else None)
            for name in services
        }

    def start(self, timeout: float = 30.0) -> None:
        # The coordinator first: the workers connect to it, the gateway asks it for readiness.
        for name in self.services:
            self.services[name].start()
            addr = self._addr(name)
            if addr and not wait_for_port(addr[0], addr[1], timeout):
                self.stop()
                raise RuntimeError(f"{name} did not start listening on {addr[0]}:{addr[1]}; see its log")

    def _addr(self, name: str) -> tuple[str, int] | None:
        if name == "gateway":
            return self.env.get("GATEWAY_HOST", "127.0.0.1"), int(self.env.get("GATEWAY_PORT", "8080"))
        raw = self.env.get(f"{name.upper()}_GRPC_ADDR")
        return (raw.rsplit(":", 1)[0], _port_of(raw)) if raw else None

    def watch_once(self) -> list[str]:
        """Restart services that died; returns their names."""
        restarted = []
        for service in self.services.values():
            if service.process is not None and not service.alive:
                logger.warning("%s exited with %s; restarting", service.name, service.process.returncode)
                service.restarts += 1
                service.start()
                restarted.append(service.name)
        return restarted

    def stop(self, grace: float = 10.0) -> None:
        # Workers and the gateway first, so their last reports reach the coordinator.
        for name in ("gateway", "importer", "geocoder", "coordinator"):
            if name in self.services:
                self.services[name].stop(grace)
