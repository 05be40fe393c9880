"""Who may call the service: API keys (kept hashed) and what each staff role may do.

A key is a random token shown once; the file keeps only its SHA-256, in an `apikey.created`
event (and `apikey.revoked`); a key may carry an expiry, after which it is refused. A key
is scoped to one recipient — what it may receive is then the disclosure gate's business
(`policy.gate`) — or to one staff role, checked by `require` against `PERMISSIONS`. The
API and the console both call these; nothing here discloses data.

    PolicyError                 policy
    ├── Unauthenticated         unauthenticated  no key, an unknown, revoked or expired one
    └── Forbidden               forbidden        the key's role or kind may not do this
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from vitalfile.disclosure.policy import recipient_tier
from vitalfile.errors import NotFound, PolicyError, UsageError
from vitalfile.events import ApiKeyCreated, ApiKeyRevoked, Event
from vitalfile.ledger.store import Store, Tx, utc_now_text
from vitalfile.ledger.table import Table

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "ApiKeysProjection",
    "Forbidden",
    "Principal",
    "Unauthenticated",
    "authenticate",
    "create_key",
    "hash_token",
    "list_keys",
    "may",
    "parse_expiry",
    "principal_of_key",
    "require",
    "revoke_key",
]

# "metrics" may only read the service's metrics (a scraper's key)
ROLES = ("intake", "reviewer", "supervisor", "auditor", "metrics")

# action → the staff roles that may do it. Recipients never hold a staff action: what they
# receive goes through `policy.gate` (their tier and agreement), not through this table.
PERMISSIONS: dict[str, frozenset[str]] = {
    "reports.ingest": frozenset({"intake", "supervisor"}),
    "activity.ingest": frozenset({"intake", "supervisor"}),
    "cases.read": frozenset({"reviewer", "supervisor", "auditor"}),
    "cases.decide": frozenset({"reviewer", "supervisor"}),
    "cases.assign": frozenset({"supervisor"}),
    "disputes.open": frozenset({"intake", "reviewer", "supervisor"}),
    "determinations.submit": frozenset({"intake", "supervisor"}),
    "determinations.read": frozenset({"reviewer", "supervisor", "auditor"}),
    "determinations.act": frozenset({"reviewer", "supervisor"}),
    "requests.submit": frozenset({"intake", "supervisor"}),
    "requests.read": frozenset({"reviewer", "supervisor", "auditor"}),
    "requests.approve": frozenset({"supervisor"}),
    "people.read": frozenset({"reviewer", "supervisor", "auditor"}),
    "accounting.read": frozenset({"supervisor", "auditor"}),
    "record.read": frozenset({"reviewer", "supervisor", "auditor"}),
    "deliveries.read": frozenset({"supervisor", "auditor"}),
    "corrections.read": frozenset({"supervisor", "auditor"}),
    "refusals.read": frozenset({"supervisor", "auditor"}),
    "extracts.keeper": frozenset({"supervisor"}),
    "apikeys.manage": frozenset({"supervisor"}),
    "metrics.read": frozenset({"supervisor", "auditor", "metrics"}),
    "backups.make": frozenset({"supervisor"}),
}


class Unauthenticated(PolicyError):
    code = "unauthenticated"


class Forbidden(PolicyError):
    code = "forbidden"


@dataclass(frozen=True)
class Principal:
    """The holder of one key: a staff role or a recipient (exactly one of them)."""

    key_id: str
    role: str = ""
    recipient: str = ""
    label: str = ""
    expires: str = ""  # ISO UTC time the key stops working, "" for never

    def expired(self, now: datetime | None = None) -> bool:
        return bool(self.expires) and self.expires <= _iso(now or datetime.now(UTC))

    @property
    def is_staff(self) -> bool:
        return bool(self.role)

    @property
    def name(self) -> str:
        """Who acts, as decisions record it (the label, else the key id)."""
        return self.label or f"key:{self.key_id}"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_expiry(text: str, *, now: datetime | None = None) -> str:
    """An expiry as stored (ISO UTC time) from `text`: "" (never), a number of days ("90d"),
    a date (the key works through that day, UTC) or an ISO time; it must be in the future."""
    text = text.strip()
    if not text:
        return ""
    now = now or datetime.now(UTC)
    try:
        if text.endswith("d") and text[:-1].isdigit():
            when = now + timedelta(days=int(text[:-1]))
        elif len(text) == 10:
            when = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            when += timedelta(days=1)
        else:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
    except ValueError as exc:
        raise UsageError(
            "expiry must be a number of days (90d), a date or an ISO time", field="expires"
        ) from exc
    if when <= now:
        raise UsageError("the expiry is not in the future", field="expires")
    return _iso(when)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


API_KEYS = Table(
    "api_keys",
    "key_id VARCHAR PRIMARY KEY",
    "sha256 VARCHAR",
    "role VARCHAR",
    "recipient VARCHAR",
    "label VARCHAR",
    "revoked BOOLEAN",
    "seq BIGINT",
    "expires VARCHAR",  # "" for a key that does not expire
)


class ApiKeysProjection:
    """api_keys: one row per key (hash, scope, expiry, revoked)."""

    name = "api_keys"

    def ddl(self) -> list[str]:
        return [
            API_KEYS.ddl,
            # a file made before keys could expire gains the column (never expiring)
            "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires VARCHAR DEFAULT ''",
        ]

    def tables(self) -> list[str]:
        return [API_KEYS.name]

    def handles(self, event_type: str) -> bool:
        return event_type in (ApiKeyCreated.type, ApiKeyRevoked.type)

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        for seq, e in events:
            if isinstance(e, ApiKeyCreated):
                tx.execute(
                    API_KEYS.insert_sql,
                    [e.key_id, e.sha256, e.role, e.recipient, e.label, False, seq, e.expires],
                )
            elif isinstance(e, ApiKeyRevoked):
                tx.execute(
                    "UPDATE api_keys SET revoked = true, seq = ? WHERE key_id = ?",
                    [seq, e.key_id],
                )


def create_key(
    store: Store, *, role: str = "", recipient: str = "", label: str = "", expires: str = ""
) -> tuple[str, str]:
    """A new key for one role or one recipient: (key id, token). The token is shown once.
    `expires` is read by `parse_expiry` ("" for a key that does not expire)."""
    until = parse_expiry(expires)
    if bool(role) == bool(recipient):
        raise UsageError("a key is for exactly one staff role or one recipient")
    if role and role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}", field="role")
    token = "vf_" + secrets.token_urlsafe(32)
    key_id = uuid.uuid4().hex[:16]
    with store.transaction():
        if recipient and recipient_tier(store, recipient) is None:
            raise NotFound("no such recipient", recipient=recipient)
        store.append(
            [
                ApiKeyCreated(
                    key_id=key_id,
                    sha256=hash_token(token),
                    role=role,
                    recipient=recipient,
                    label=label,
                    at=utc_now_text(),
                    expires=until,
                )
            ],
            note="api key",
        )
    return key_id, token


def revoke_key(store: Store, key_id: str, *, reason: str = "") -> None:
    with store.transaction():
        if not store.query("SELECT 1 FROM api_keys WHERE key_id = ?", [key_id]):
            raise NotFound("no such key", record_id=key_id)
        store.append([ApiKeyRevoked(key_id=key_id, reason=reason, at=utc_now_text())])


def list_keys(store: Store) -> list[dict[str, object]]:
    """Every key's id, scope, label, expiry and whether it is revoked (never the hash)."""
    rows = store.query(
        "SELECT key_id, role, recipient, label, revoked, expires FROM api_keys ORDER BY seq, key_id"
    )
    return [
        {
            "key_id": k,
            "role": r,
            "recipient": rec,
            "label": lab,
            "revoked": bool(rv),
            "expires": str(ex or ""),
        }
        for k, r, rec, lab, rv, ex in rows
    ]


def authenticate(store: Store, token: str) -> Principal:
    """The holder of `token`, or Unauthenticated (unknown, revoked, expired, or no token)."""
    if not token:
        raise Unauthenticated("an API key is required")
    rows = store.query(
        "SELECT key_id, role, recipient, label, revoked, expires FROM api_keys WHERE sha256 = ?",
        [hash_token(token)],
    )
    if not rows or bool(rows[0][4]):
        raise Unauthenticated("unknown or revoked API key")
    k, role, rec, label, _, expires = rows[0]
    principal = Principal(str(k), str(role), str(rec), str(label), str(expires or ""))
    if principal.expired():
        raise Unauthenticated("the API key has expired")
    return principal


def principal_of_key(store: Store, key_id: str) -> Principal:
    """The holder of the key `key_id` (a signed-in session names it), unless revoked."""
    rows = store.query(
        "SELECT key_id, role, recipient, label, revoked, expires FROM api_keys WHERE key_id = ?",
        [key_id],
    )
    if not rows or bool(rows[0][4]):
        raise Unauthenticated("the session's key is unknown or revoked")
    k, role, rec, label, _, expires = rows[0]
    principal = Principal(str(k), str(role), str(rec), str(label), str(expires or ""))
    if principal.expired():
        raise Unauthenticated("the session's key has expired")
    return principal


def may(principal: Principal, action: str) -> bool:
    if action not in PERMISSIONS:
        raise KeyError(action)
    return principal.is_staff and principal.role in PERMISSIONS[action]


def require(principal: Principal, action: str) -> None:
    """Raise Forbidden unless the principal's staff role may do `action`."""
    if not may(principal, action):
        who = f"role {principal.role}" if principal.is_staff else "a recipient key"
        raise Forbidden(f"{who} may not do this ({action})")
