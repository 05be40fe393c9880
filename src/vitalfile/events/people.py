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
    """One record of an existing DMF full file taken over: a person and their death.

    A record of the pre-2011 layout also carries the state of residence, the ZIP of last
    residence (the person's last known address) and the ZIP the lump-sum death payment
    went to. They are left out of the stored JSON when "" (as every record written since
    November 2011 has them), so events of a 2011-layout load keep their exact bytes.
    """

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
    residence_state: str = ""
    residence_zip: str = ""
    lump_sum_zip: str = ""

    def to_json(self) -> str:
        text = super().to_json()
        if self.residence_state or self.residence_zip or self.lump_sum_zip:
            return text
        # '"dob":"…","residence_state":"","residence_zip":"","lump_sum_zip":""}' → '…"}'
        return text[: -len(_DMF_EMPTY_TAIL)] + "}"


_DMF_EMPTY_TAIL = ',"residence_state":"","residence_zip":"","lump_sum_zip":""}'


class ActivityRecorded(Event):
    """A sign of life: earnings, a claim, an account opened, an office visit."""

    type = "activity.recorded"
    activity_key: str  # idempotency key: the same line twice records nothing new
    ssn: str
    person_id: int | None = None
    kind: Literal["earnings", "claim", "account_opened", "office_visit"]
    activity_date: str
    source: str
