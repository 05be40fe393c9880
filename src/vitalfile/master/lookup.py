"""Small look-ups over the master file for the doors: a person's SSN, the reports' status,
a few people to show. Read-only, portable SQL (DuckDB and PostgreSQL); no rules."""

from __future__ import annotations

from collections.abc import Sequence

from vitalfile.errors import NotFound
from vitalfile.ledger.store import Store

__all__ = ["first_ssns", "living_born_before", "report_statuses", "ssn_of", "ssns_of"]


def ssns_of(store: Store, person_ids: Sequence[int]) -> dict[int, str]:
    """The SSN on file of each of these people (those not on file are left out)."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    rows = store.reader().select_in("persons", ("person_id", "ssn"), "person_id", ids)
    return {int(pid): str(ssn) for pid, ssn in rows}


def ssn_of(store: Store, person_id: int) -> str:
    """The person's SSN on file; NotFound when no such person."""
    found = ssns_of(store, [person_id])
    if person_id not in found:
        raise NotFound("no such person")
    return found[person_id]


def report_statuses(store: Store, report_keys: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(status, reason) of each of these reports, by report key."""
    rows = store.reader().select_in(
        "reports", ("report_key", "status", "reason"), "report_key", list(report_keys)
    )
    return {str(k): (str(s), str(r or "")) for k, s, r in rows}


def first_ssns(store: Store, limit: int) -> list[str]:
    """The SSNs of the first `limit` people on file (by person id)."""
    rows = store.query("SELECT ssn FROM persons ORDER BY person_id LIMIT ?", [limit])
    return [str(r[0]) for r in rows]


def living_born_before(store: Store, dob: str, limit: int = 1) -> list[tuple[str, str, str, str]]:
    """(ssn, first name, last name, date of birth) of the first people (by person id) born
    before the ISO date `dob` with no current death."""
    rows = store.query(
        "SELECT p.ssn, p.first_name, p.last_name, p.dob FROM persons p "
        "LEFT JOIN deaths d ON d.person_id = p.person_id AND d.status = 'current' "
        "WHERE d.person_id IS NULL AND p.dob < ? ORDER BY p.person_id LIMIT ?",
        [dob, limit],
    )
    return [(str(s), str(f), str(ln), str(d)) for s, f, ln, d in rows]
