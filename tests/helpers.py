"""What many tests build, written once: an SSN per person id, a person on file, a death
posted, and a recipient with an agreement for death records."""

from __future__ import annotations

from collections.abc import Sequence

from vitalfile.disclosure.policy import DEATH_FIELDS, add_agreement, add_recipient
from vitalfile.events import DeathPosted, PersonRegistered
from vitalfile.ledger.store import Store


def ssn_of(pid: int) -> str:
    """A valid SSN for person `pid` (123-00-0000 + pid)."""
    return f"{123000000 + pid:09d}"


def person(
    pid: int, last: str = "SMITH", dob: str = "1950-01-02", first: str = "ANN"
) -> PersonRegistered:
    return PersonRegistered(
        person_id=pid, ssn=ssn_of(pid), first_name=first, last_name=last, dob=dob
    )


def death(pid: int, dod: str, kind: str = "funeral_home") -> DeathPosted:
    """A death posted on one report (V when a state sent it, else P)."""
    return DeathPosted(
        person_id=pid,
        dod=dod,
        proof="V" if kind == "state" else "P",
        report_key=f"r/{pid}",
        source_kind=kind,
    )


def add_death_recipient(
    store: Store,
    name: str,
    tier: str = "certified",
    *,
    purpose: str = "fraud prevention",
    authority: str = "42 USC 1306c",
    end: str = "2030-12-31",
    determination_kinds: Sequence[str] = (),
) -> None:
    """A recipient of `tier` with one agreement (`<name>-1`) for death records from 2020."""
    add_recipient(store, name, tier)
    add_agreement(
        store,
        f"{name}-1",
        name,
        purpose=purpose,
        authority=authority,
        fields=[*DEATH_FIELDS],
        start="2020-01-01",
        end=end,
        determination_kinds=determination_kinds,
    )
