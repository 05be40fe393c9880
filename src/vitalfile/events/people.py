"""Events of the people stream: who is on the file, and signs that they live."""

from __future__ import annotations

from typing import Any, Literal

from vitalfile.events.base import Event, Proof, _Dated, upcaster

__all__ = ["ActivityRecorded", "DmfRecordLoaded", "PersonRegistered"]


# ── people ──────────────────────────────────────────────────────────────────────────────
class PersonRegistered(_Dated):
    """A person enters the file from a people file.

    Version 2 added `former_names`: surnames the person was known by before (a maiden name,
    an earlier married name), separated by ";", "" when none. A version-1 event reads as
    one with no former names.
    """

    type = "person.registered"
    version = 2
    person_id: int
    ssn: str
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    suffix: str = ""
    dob: str = ""
    sex: str = ""
    birth_state: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    former_names: str = ""


@upcaster(PersonRegistered.type, 1)
def _person_registered_v1(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "former_names": ""}


class DmfRecordLoaded(_Dated):
    """One record of an existing DMF full file taken over: a person and their death."""

    type = "dmf.record_loaded"
    person_id: int
    ssn: str
    last_name: str = ""
    suffix: str = ""
    first_name: str = ""
    middle_name: str = ""
    proof: Proof = ""
    dod: str = ""
    dob: str = ""


class ActivityRecorded(Event):
    """A sign of life: earnings, a claim, an account opened, an office visit."""

    type = "activity.recorded"
    activity_key: str  # idempotency key: the same line twice records nothing new
    ssn: str
    person_id: int | None = None
    kind: Literal["earnings", "claim", "account_opened", "office_visit"]
    activity_date: str
    source: str
