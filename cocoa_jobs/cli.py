"""The ``cocoa-jobs`` command line: migrations, users, API tokens, job archival, address points and demo data.

Each subcommand group is added by a *registrar* listed in :data:`COMMANDS`; a registrar adds its
parser(s) to the subparsers and sets ``handler`` (``(settings, args) -> exit code``) on each.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from cocoa_common import db
from cocoa_common.ids import iso, utcnow
from cocoa_common.models import ApiToken
from cocoa_common.settings import Settings, SettingsError
from cocoa_gateway.auth import hash_token, issue_token
from cocoa_gateway.repository import ROLES, GatewayRepository

T = TypeVar("T")
Subparsers = Any  # argparse's _SubParsersAction is private; registrars only call add_parser on it
Handler = Callable[[Settings, argparse.Namespace], int]
Registrar = Callable[[Subparsers], None]


class CliError(Exception):
    """A user-facing failure: printed to stderr, exit code 1."""


def run_db(settings: Settings, work: Callable[[GatewayRepository], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on the settings' database."""

    async def main() -> T:
        engine = db.create_engine(settings.database_url, pool_size=1)
        try:
            async with db.session_factory(engine).begin() as session:
                return await work(GatewayRepository(session))
        finally:
            await engine.dispose()

    return asyncio.run(main())


# ---- migrate ---------------------------------------------------------------


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from cocoa_common.migrate import upgrade  # Alembic is slow to import; only this command needs it

    upgrade(settings.database_url)
    print("database is up to date", file=sys.stderr)
    return 0


def add_migrate(sub: Subparsers) -> None:
    parser = sub.add_parser("migrate", help="bring the database schema up to date")
    parser.set_defaults(handler=_migrate)


# ---- users -----------------------------------------------------------------


def _users_create(settings: Settings, args: argparse.Namespace) -> int:
    async def work(repo: GatewayRepository) -> str:
        if await repo.user_by_email(args.email) is not None:
            raise CliError(f"a user with email {args.email} already exists")
        return (await repo.create_user(args.email, args.name, args.role)).id

    print(run_db(settings, work))  # the new user's id, alone on stdout
    return 0


def add_users(sub: Subparsers) -> None:
    users = sub.add_parser("users", help="manage users").add_subparsers(dest="users_command", required=True)
    create = users.add_parser("create", help="create a user; prints its id")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.set_defaults(handler=_users_create)


# ---- tokens ----------------------------------------------------------------


def _tokens_create(settings: Settings, args: argparse.Namespace) -> int:
    if args.expires_days is not None and args.expires_days <= 0:
        raise CliError("--expires-days must be a positive number of days")
    expires_at = utcnow() + timedelta(days=args.expires_days) if args.expires_days else None

    async def work(repo: GatewayRepository) -> str:
        user = await repo.user_by_email(args.email)
        if user is None:
            raise CliError(f"no user with email {args.email}")
        return await issue_token(repo, user.id, expires_at)

    token = run_db(settings, work)
    print(token)  # only the token: scripts capture it with $(cocoa-jobs tokens create ...)
    return 0


def _tokens_revoke(settings: Settings, args: argparse.Namespace) -> int:
    async def work(repo: GatewayRepository) -> bool:
        if args.id:
            return await repo.revoke_token_id(args.id.strip())
        return await repo.revoke_token(hash_token(args.token.strip()))

    if not run_db(settings, work):
        raise CliError("no such live token")
    print("token revoked", file=sys.stderr)
    return 0


def _tokens_list(settings: Settings, args: argparse.Namespace) -> int:
    """One line per working token of the user: id, created, expires, last used (never the secret)."""

    async def work(repo: GatewayRepository) -> list[ApiToken]:
        user = await repo.user_by_email(args.email)
        if user is None:
            raise CliError(f"no user with email {args.email}")
        return await repo.live_tokens(user.id, utcnow())

    for token in run_db(settings, work):
        print(
            token.id,
            f"created={iso(token.created_at)}",
            f"expires={iso(token.expires_at) or 'never'}",
            f"last_used={iso(token.last_used_at) or 'never'}",
        )
    return 0


def add_tokens(sub: Subparsers) -> None:
    tokens = sub.add_parser("tokens", help="manage API tokens").add_subparsers(
        dest="tokens_command", required=True
    )
    create = tokens.add_parser("create", help="create an API token for a user; prints only the token")
    create.add_argument("--email", required=True)
    create.add_argument("--expires-days", type=int, default=None, help="default: never expires")
    create.set_defaults(handler=_tokens_create)
    listing = tokens.add_parser("list", help="a user's working tokens: id, created, expires, last used")
    listing.add_argument("--email", required=True)
    listing.set_defaults(handler=_tokens_list)
    revoke = tokens.add_parser("revoke", help="revoke an API token, given the token or its id (from list)")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--token")
    which.add_argument("--id")
    revoke.set_defaults(handler=_tokens_revoke)


# ---- address points and demo data ----------------------------------------------


def _address_points_import(settings: Settings, args: argparse.Namespace) -> int:
    from cocoa_common import errors
    from cocoa_geocoder.address_points import import_address_points

    async def chunks() -> AsyncIterator[bytes]:
        with open(args.file, "rb") as f:
            while data := f.read(1024 * 1024):
                yield data

    async def main() -> int:
        engine = db.create_engine(settings.database_url, pool_size=1)
        try:
            report = await import_address_points(
                db.session_factory(engine), chunks(), args.source or args.file
            )
        except errors.CocoaError as exc:
            raise CliError(exc.message) from None
        finally:
            await engine.dispose()
        for line in report.errors:
            print(line, file=sys.stderr)
        print(f"imported {report.imported} address points, rejected {report.rejected}", file=sys.stderr)
        return 0

    try:
        return asyncio.run(main())
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None


def add_address_points(sub: Subparsers) -> None:
    points = sub.add_parser("address-points", help="offline address points for the local geocoder")
    commands = points.add_subparsers(dest="address_points_command", required=True)
    load = commands.add_parser("import", help="import an OpenAddresses CSV (LON,LAT,NUMBER,STREET,...)")
    load.add_argument("file")
    load.add_argument("--source", default="", help="name of the source; importing it again replaces it")
    load.set_defaults(handler=_address_points_import)


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from cocoa_jobs.demo import households_exist, seed_demo

    async def main() -> int:
        engine = db.create_engine(settings.database_url, pool_size=1)
        try:
            if await households_exist(engine) and not args.force:
                raise CliError("the database already has households (use --force to add demo data anyway)")
            print(
                f"seeded {await seed_demo(engine, households=args.households)} demo households",
                file=sys.stderr,
            )
            return 0
        finally:
            await engine.dispose()

    return asyncio.run(main())


def add_demo(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "demo", help="seed demo households in Raleigh, NC with voters and matching address points"
    )
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--force", action="store_true")
    parser.set_defaults(handler=_demo)


def _jobs_archive(settings: Settings, args: argparse.Namespace) -> int:
    from cocoa_coordinator.archive import archive_finished

    days = args.older_than_days
    if days is None:
        if settings.archive_after_days <= 0:
            raise CliError("archival is off (JOB_ARCHIVE_AFTER_DAYS <= 0): pass --older-than-days")
        days = settings.archive_after_days
    if days < 0:
        raise CliError("--older-than-days must be 0 or more")

    async def main() -> int:
        engine = db.create_engine(settings.database_url, pool_size=1)
        try:
            moved = await archive_finished(
                db.session_factory(engine), timedelta(days=days), max_jobs=sys.maxsize
            )
        finally:
            await engine.dispose()
        print(f"archived {moved} jobs", file=sys.stderr)
        return 0

    return asyncio.run(main())


def add_jobs(sub: Subparsers) -> None:
    jobs = sub.add_parser("jobs", help="maintain jobs").add_subparsers(dest="jobs_command", required=True)
    archive = jobs.add_parser(
        "archive", help="move finished jobs and their item errors to archived_jobs / archived_job_item_errors"
    )
    archive.add_argument(
        "--older-than-days", type=float, default=None, help="default: JOB_ARCHIVE_AFTER_DAYS (30)"
    )
    archive.set_defaults(handler=_jobs_archive)


COMMANDS: list[Registrar] = [add_migrate, add_users, add_tokens, add_jobs, add_address_points, add_demo]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cocoa-jobs", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``cocoa-jobs``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(Settings.from_env(), args)
    except (CliError, SettingsError) as exc:
        print(f"cocoa-jobs: error: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        print(f"cocoa-jobs: database error: {cause} (is the schema migrated?)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
