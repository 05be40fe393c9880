"""The NVSS API conventions, so a state's NVSS client can send to vitalfile unchanged.

`post_bundle` takes one message or a `batch` Bundle of messages for one jurisdiction (every
message through `intake.vrdr.ingest_vrdr`, with replies queued in the ledger) and gives the
per-message outcome as a `batch-response` Bundle; `queued_replies` is the jurisdiction's
queue of replies (`_since`, `_count`, `page`, `certificateNumber`, `deathYear`) as a
`searchset` Bundle; `capability_statement` says so. A jurisdiction is a recipient
(`nvss-XX`): its keys post and read that jurisdiction's bundles and no other's. Replies are
disclosures to the state: they are kept in the ledger (`vrdr.reply_queued`) and survive a
restart. No HTTP here: the route parses, calls one of these, and renders.
"""

from __future__ import annotations

import contextlib
import gc
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from vitalfile.disclosure.access import Forbidden, Principal
from vitalfile.disclosure.policy import add_recipient, recipient_tier
from vitalfile.errors import NotFound, RecordError, UsageError
from vitalfile.intake.pipeline import Intake
from vitalfile.intake.vrdr import Outcome, Refused, VrdrIngestResult, ingest_vrdr
from vitalfile.ledger.store import Store
from vitalfile.link.base import Linker
from vitalfile.sources.vrdr import VrdrReport, read_bundle
from vitalfile.sources.vrdr_common import JURISDICTIONS

__all__ = [
    "MAX_COUNT",
    "PostResult",
    "capability_statement",
    "check_jurisdiction",
    "jurisdiction_recipient",
    "post_bundle",
    "queued_replies",
    "register_jurisdiction",
    "require_jurisdiction",
]

PREFIX = "nvss-"
MAX_COUNT = 1000  # replies per page at most
_STATUS = {"taken": "201", "recorded": "201", "document": "201", "duplicate": "200"}


def check_jurisdiction(jurisdiction: str) -> str:
    """The jurisdiction code as given, if it is one of the VRDR jurisdictions."""
    if jurisdiction not in JURISDICTIONS:
        raise NotFound("no such jurisdiction", field="jurisdiction")
    return jurisdiction


def jurisdiction_recipient(jurisdiction: str) -> str:
    """The recipient id a jurisdiction's keys are scoped to (`nvss-MA`)."""
    return PREFIX + check_jurisdiction(jurisdiction)


def register_jurisdiction(store: Store, jurisdiction: str, name: str = "") -> str:
    """Register a jurisdiction as a recipient (once), so keys can be made for it."""
    recipient = jurisdiction_recipient(jurisdiction)
    if recipient_tier(store, recipient) is None:
        # its replies are about its own records: the least tier, nothing else goes to it
        add_recipient(store, recipient, "public", name or f"vital records office {jurisdiction}")
    return recipient


def require_jurisdiction(principal: Principal, jurisdiction: str) -> str:
    """Forbidden unless the key is this jurisdiction's (NY's key never reads MA's bundles)."""
    check_jurisdiction(jurisdiction)
    if principal.recipient != PREFIX + jurisdiction:
        raise Forbidden("this key is not scoped to this jurisdiction", field="jurisdiction")
    return jurisdiction


@dataclass
class PostResult:
    """What a POST did: one outcome per message; `batch` when a batch Bundle was sent."""

    batch: bool
    outcomes: list[Outcome]
    result: VrdrIngestResult

    def response(self) -> dict[str, Any]:
        """The `batch-response` Bundle: one entry per message, in order."""
        return {
            "resourceType": "Bundle",
            "type": "batch-response",
            "entry": [_entry(o) for o in self.outcomes],
        }


def _entry(o: Outcome) -> dict[str, Any]:
    status = _STATUS.get(o.result, "400")
    response: dict[str, Any] = {"status": status}
    if status == "400":
        response["outcome"] = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid", "diagnostics": o.reason}],
        }
    out: dict[str, Any] = {"response": response}
    if o.message_id:
        out["fullUrl"] = f"urn:uuid:{o.message_id}" if "/" not in o.message_id else o.message_id
    return out


def _messages(data: Any) -> tuple[bool, list[Any]]:
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise RecordError("not a FHIR Bundle", field="resourceType")
    if data.get("type") == "batch":
        entries = data.get("entry")
        if not isinstance(entries, list) or not entries:
            raise RecordError("a batch Bundle with no messages", field="entry")
        return True, [e.get("resource") if isinstance(e, dict) else None for e in entries]
    if data.get("type") != "message":
        raise RecordError("neither a message nor a batch of messages", field="type")
    return False, [data]


def post_bundle(
    store: Store,
    jurisdiction: str,
    body: bytes,
    *,
    linker: Linker | Intake | None = None,
    today: date | None = None,
) -> PostResult:
    """Take one message or a batch of messages from `jurisdiction`, all in one commit.

    Each message is read on its own; one that cannot be read, or is of another jurisdiction,
    is refused (its extraction error queued) and the others are taken. A body that is not a
    message or a batch of messages is refused whole (`RecordError`, nothing written).
    """
    check_jurisdiction(jurisdiction)
    with _collector_paused():
        return _post(store, jurisdiction, body, linker=linker, today=today)


_pause_lock = threading.Lock()
_pauses = 0


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a batch is taken in (and on again after).

    A batch of 1,000 messages is some ten million short-lived objects that hold no cycles;
    scanning them again and again cost a third of the request. Counted, so that two
    requests at once do not turn it on under each other."""
    global _pauses
    with _pause_lock:
        if _pauses == 0 and not gc.isenabled():
            was_off = True
        else:
            was_off = False
            _pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if not was_off:
            with _pause_lock:
                _pauses -= 1
                if _pauses == 0:
                    gc.enable()


def _post(
    store: Store,
    jurisdiction: str,
    body: bytes,
    *,
    linker: Linker | Intake | None,
    today: date | None,
) -> PostResult:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise RecordError("not JSON", field="body") from None
    batch, raws = _messages(data)
    items: list[VrdrReport | Refused] = []
    for n, raw in enumerate(raws, start=1):
        if not isinstance(raw, dict):
            items.append(Refused(RecordError("not a FHIR Bundle", line=n, field="resource")))
            continue
        try:
            items.append(read_bundle(raw))
        except RecordError as exc:
            items.append(Refused(exc, raw))
    if not batch and isinstance(items[0], VrdrReport) and items[0].message_kind == "document":
        raise RecordError("a document, not a message: send it in a submission", field="type")
    result = ingest_vrdr(
        store,
        items,
        source_kind="state",
        linker=linker,
        today=today,
        note=f"NVSS API {jurisdiction}",
        replies=True,
        jurisdiction=jurisdiction,
        requeue=True,
    )
    return PostResult(batch, result.outcomes, result)


def _since_text(since: str) -> str:
    """`_since` (ISO date or date-time, any offset; naive is UTC) as the ledger stores time."""
    try:
        when = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError("_since is not an ISO date-time", field="_since") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def queued_replies(
    store: Store,
    jurisdiction: str,
    *,
    since: str = "",
    count: int = 100,
    page: int = 1,
    certificate_number: str = "",
    death_year: int | None = None,
    base_url: str = "",
) -> dict[str, Any]:
    """The replies queued for `jurisdiction` (oldest first) as a `searchset` Bundle.

    `since` keeps those queued after it; `certificate_number` / `death_year` those about one
    record; `count` per page (at most `MAX_COUNT`), `page` from 1. A resent message's reply
    is queued again, so it is found again after the resend.
    """
    check_jurisdiction(jurisdiction)
    if not 1 <= count <= MAX_COUNT:
        raise UsageError(f"_count must be 1 to {MAX_COUNT}", field="_count")
    if page < 1:
        raise UsageError("page starts at 1", field="page")
    where = ["jurisdiction = ?"]
    params: list[Any] = [jurisdiction]
    if since:
        where.append("queued_at > ?")
        params.append(_since_text(since))
    if certificate_number:
        if not certificate_number.isdigit() or len(certificate_number) > 6:
            raise UsageError("certificateNumber is up to 6 digits", field="certificateNumber")
        where.append("cert_no = ?")
        params.append(f"{int(certificate_number):06d}")
    if death_year is not None:
        where.append("death_year = ?")
        params.append(death_year)
    cond = " AND ".join(where)
    # the time of this read, taken before it: a client's next `_since` misses nothing
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    (total,) = store.query(f"SELECT count(*) FROM vrdr_replies WHERE {cond}", params)[0]
    rows = store.query(
        f"SELECT bundle FROM vrdr_replies WHERE {cond} ORDER BY seq LIMIT ? OFFSET ?",
        [*params, count, (page - 1) * count],
    )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": now,
        "total": int(total),
        "entry": [_reply_entry(json.loads(str(r[0]))) for r in rows],
    }
    links = [{"relation": "self", "url": _page_url(base_url, jurisdiction, page, count, since)}]
    if page * count < int(total):
        links.append(
            {"relation": "next", "url": _page_url(base_url, jurisdiction, page + 1, count, since)}
        )
    bundle["link"] = links
    return bundle


def _reply_entry(reply: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{reply.get('id', '')}", "resource": reply}


def _page_url(base: str, jurisdiction: str, page: int, count: int, since: str) -> str:
    url = f"{base}/{jurisdiction}/Bundle?_count={count}&page={page}"
    return url + (f"&_since={since}" if since else "")


def capability_statement(jurisdiction: str) -> dict[str, Any]:
    """What this server does for a jurisdiction, as a FHIR CapabilityStatement."""
    check_jurisdiction(jurisdiction)
    search = [
        ("_since", "date", "replies queued after this time"),
        ("_count", "number", f"replies per page (1 to {MAX_COUNT})"),
        ("page", "number", "the page, from 1"),
        ("certificateNumber", "string", "replies about this certificate number"),
        ("deathYear", "number", "replies about records of this year"),
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date.today().isoformat(),
        "kind": "instance",
        "software": {"name": "vitalfile", "version": _version()},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "implementationGuide": [
            "http://cdc.gov/nchs/nvss/fhir/vital-records-messaging/ImplementationGuide/"
            "VitalRecordsFHIRMessagingIG"
        ],
        "rest": [
            {
                "mode": "server",
                "documentation": f"messages from jurisdiction {jurisdiction}; its replies",
                "resource": [
                    {
                        "type": "Bundle",
                        "interaction": [{"code": "create"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": n, "type": t, "documentation": d} for n, t, d in search
                        ],
                    }
                ],
            }
        ],
    }


def outcome_counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """How many messages of a POST ended each way (for logs and benches; no personal data)."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.result] = counts.get(o.result, 0) + 1
    return counts


def _version() -> str:
    """The installed package's version (the root package imports the store: not from here)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vitalfile")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"
