"""``make run``: migrate, start every service, create an admin token and demo data, print where to go.

Stays in the foreground; Ctrl-C or SIGTERM stops every service cleanly. Honours the same
environment variables as the services (DATABASE_URL, REDIS_URL, GATEWAY_HOST/PORT, *_GRPC_ADDR, ...).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from cocoa_common import db
from cocoa_common.migrate import upgrade
from cocoa_common.settings import Settings
from cocoa_gateway.auth import issue_token
from cocoa_gateway.repository import GatewayRepository
from cocoa_jobs.demo import households_exist, seed_demo
from cocoa_jobs.supervisor import Supervisor

ADMIN_EMAIL = "admin@cocoa.local"


async def bootstrap(settings: Settings, with_demo: bool) -> tuple[str, int]:
    """An admin user (created once) with a fresh token, and demo households into an empty database."""
    engine = db.create_engine(settings.database_url)
    try:
        async with db.session_factory(engine).begin() as session:
            repo = GatewayRepository(session)
            user = await repo.user_by_email(ADMIN_EMAIL) or await repo.create_user(
                ADMIN_EMAIL, "Admin", "admin"
            )
            token = await issue_token(repo, user.id)
        seeded = 0
        if with_demo and not await households_exist(engine):
            seeded = await seed_demo(engine)
        return token, seeded
    finally:
        await engine.dispose()


def banner(settings: Settings, token: str, seeded: int) -> str:
    base = f"http://{settings.gateway_host}:{settings.gateway_port}"
    demo = (
        f"Seeded {seeded} demo households in Raleigh, NC, with their voters, address points and parcels.\n"
        if seeded
        else ""
    )
    return (
        f"\ncocoa-jobs is running ({settings.database_url}).\n{demo}"
        f"  Jobs page:  {base}/jobs\n"
        f"  API:        {base}/api/v1\n"
        f"  Token:      {token}\n\n"
        "Start a geocoding job that completes offline:\n"
        f"  curl -X POST -H 'Authorization: Bearer {token}' "
        f"'{base}/api/v1/gis/households/geocode?city=Raleigh&state=NC&providerId=local'\n\n"
        "Ctrl-C stops everything.\n"
    )


def main() -> None:
    settings = Settings.from_env()
    Path("var/log").mkdir(parents=True, exist_ok=True)
    print("migrating the database ...", flush=True)
    upgrade(settings.database_url)
    token, seeded = asyncio.run(bootstrap(settings, os.environ.get("COCOA_DEMO", "1") != "0"))
    env = dict(os.environ, DATABASE_URL=settings.database_url, PYTHONUNBUFFERED="1")
    supervisor = Supervisor(env, log_dir="var/log")
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print("starting coordinator, geocoder, importer and gateway (logs in var/log/) ...", flush=True)
    try:
        supervisor.start()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    print(banner(settings, token, seeded), flush=True)
    while not stopping:
        time.sleep(0.5)
        if not stopping:  # children get Ctrl-C too; do not restart them while we stop
            supervisor.watch_once()
    print("\nstopping ...", flush=True)
    supervisor.stop()
    print("stopped.", flush=True)


if __name__ == "__main__":
    main()
