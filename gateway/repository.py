"""The gateway's tables: users, their API tokens and the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cocoa_common.ids import new_id, utcnow
from cocoa_common.models import ApiToken, AuditLog, User

ROLES: tuple[str, ...] = ("admin", "viewer")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited action, as the contract lists its columns."""

    user_id: str | None
    action: str
    resource: str
    resource_id: str | None
    details: Mapping[str, Any] = field(default_factory=dict)
    ip_address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which audit rows to list; each given part narrows the list."""

    actions: tuple[str, ...] = ()
    user_id: str | None = None
    resource: str | None = None
    resource_id: str | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


class GatewayRepository:
    """Queries over users, api_tokens and audit_logs within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create_user(self, email: str, name: str, role: str) -> User:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        user = User(
            id=new_id(),
            email=normalize_email(email),
            name=name,
            role=role,
            disabled=False,
            created_at=utcnow(),
        )
        self.session.add(user)
        await self.session.flush()
        return user

    async def user_by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == normalize_email(email)))
        return result.scalar_one_or_none()

    async def users_by_ids(self, ids: Iterable[str]) -> dict[str, User]:
        wanted = {i for i in ids if i}
        if not wanted:
            return {}
        result = await self.session.execute(select(User).where(User.id.in_(wanted)))
        return {user.id: user for user in result.scalars()}

    async def create_token(self, user_id: str, token_hash: str, expires_at: datetime | None) -> ApiToken:
        token = ApiToken(
            id=new_id(), user_id=user_id, token_hash=token_hash, created_at=utcnow(), expires_at=expires_at
        )
        self.session.add(token)
        await self.session.flush()
        return token

    async def token_with_user(self, token_hash: str) -> tuple[ApiToken, User] | None:
        result = await self.session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def revoke_token(self, token_hash: str) -> bool:
        """Revoke a live token; False when no unrevoked token has this hash."""
        result = await self.session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def live_tokens(self, user_id: str, now: datetime) -> list[ApiToken]:
        """The user's tokens that still work (not revoked, not expired), newest first."""
        rows = await self.session.execute(
            select(ApiToken)
            .where(
                ApiToken.user_id == user_id,
                ApiToken.revoked_at.is_(None),
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
            )
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
        return list(rows.scalars())

    async def token(self, token_id: str) -> ApiToken | None:
        return await self.session.get(ApiToken, token_id)

    async def revoke_token_id(self, token_id: str) -> bool:
        """Revoke a live token by its id; False when it is unknown or already revoked."""
        result = await self.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def touch_token(self, token_id: str, when: datetime) -> None:
        await self.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=when))

    async def add_audit(self, entry: AuditEntry) -> None:
        self.session.add(
            AuditLog(
                user_id=entry.user_id,
                action=entry.action,
                resource=entry.resource,
                resource_id=entry.resource_id,
                details=json.dumps(dict(entry.details), separators=(",", ":"), default=str),
                ip_address=entry.ip_address,
                user_agent=entry.user_agent,
                created_at=utcnow(),
            )
        )
        await self.session.flush()

    async def audit_page(self, wanted: AuditFilter, limit: int, offset: int) -> tuple[list[AuditLog], int]:
        """The matching rows newest first, and how many match in all."""
        conditions = []
        if wanted.actions:
            conditions.append(AuditLog.action.in_(wanted.actions))
        if wanted.user_id is not None:
            conditions.append(AuditLog.user_id == wanted.user_id)
        if wanted.resource is not None:
            conditions.append(AuditLog.resource == wanted.resource)
        if wanted.resource_id is not None:
            conditions.append(AuditLog.resource_id == wanted.resource_id)
        if wanted.created_after is not None:
            conditions.append(AuditLog.created_at >= wanted.created_after)
        if wanted.created_before is not None:
            conditions.append(AuditLog.created_at < wanted.created_before)
        rows = await self.session.execute(
            select(AuditLog)
            .where(*conditions)
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
            .limit(limit)
            .offset(offset)
        )
        total = await self.session.scalar(select(func.count()).select_from(AuditLog).where(*conditions))
        return list(rows.scalars()), int(total or 0)


def normalize_email(email: str) -> str:
    return email.strip().lower()
