"""Events of the people stream: who is on the file, and signs that they live."""

from __future__ import annotations

from typing import Any, Literal

from vitalfile.events.base import Event, Proof, _Dated, _json_head, upcaster

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
    went to. `dod_blank` / `dob_blank` say that a wholly unknown date was written blank
    rather than `00000000`, so the file extracts back as it came. Each of these fields is
    left out of the stored JSON while it is empty or False, so the events of a 2011-layout
    load with zero dates keep their exact bytes (and older events read as they are).
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
    dod_blank: bool = False
    dob_blank: bool = False

    def to_json(self) -> str:
        left_out = {f for f in DMF_OPTIONAL_FIELDS if not getattr(self, f)}
        if not left_out:
            return super().to_json()
        body = self.model_dump_json(exclude=left_out)
        return _json_head(self.type, self.version)[:-1] + "," + body[1:]


# Left out of a DmfRecordLoaded's JSON while empty or False (in this order when present).
DMF_OPTIONAL_FIELDS: tuple[str, ...] = (
    "residence_state",
    "residence_zip",
    "lump_sum_zip",
    "dod_blank",
    "dob_blank",
)


class ActivityRecorded(Event):
    """A sign of life: earnings, a claim, an account opened, an office visit."""

    type = "activity.recorded"
    activity_key: str  # idempotency key: the same line twice records nothing new
    ssn: str
    person_id: int | None = None
    kind: Literal["earnings", "claim", "account_opened", "office_visit"]
    activity_date: str
    source: str
