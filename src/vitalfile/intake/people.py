"""Loading a people file into the ledger: each new person a `person.registered` event.

The file is refused whole on any bad record (never-issued SSNs included) or an SSN that
appears twice in it. A person whose SSN is already on file is skipped, so loading the same
file twice records nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vitalfile.errors import FileRejected, RecordError
from vitalfile.events import PersonRegistered
from vitalfile.ledger.store import Store
from vitalfile.sources.csv import PersonRow, read_people

__all__ = ["PeopleResult", "load_people_file"]


@dataclass
class PeopleResult:
    registered: int
    already_on_file: int
    commits: int


def load_people_file(
    store: Store,
    path: Path,
    *,
    commit_size: int = 250_000,
    progress: Callable[[int], None] | None = None,
) -> PeopleResult:
    rows: list[tuple[int, PersonRow]] = []
    errors: list[RecordError] = []
    seen: set[str] = set()
    for line, item in enumerate(read_people(path), start=2):
        if isinstance(item, RecordError):
            errors.append(item.in_file(path.name))
        elif item.ssn in seen:
            errors.append(
                RecordError("SSN appears twice in the file", line=line, field="ssn", file=path.name)
            )
        else:
            seen.add(item.ssn)
            rows.append((line, item))
    if errors:
        raise FileRejected(errors, file=path.name)
    commits = 0
    with store.transaction():
        known = {
            str(s)
            for s in store.query_arrow(
                "SELECT ssn FROM persons WHERE ssn IN (SELECT unnest(?::VARCHAR[]))",
                [sorted(seen)],
            )
            .column(0)
            .to_pylist()
        }
        new = [r for _, r in rows if r.ssn not in known]
        base = int(store.query("SELECT coalesce(max(person_id), 0) FROM persons")[0][0]) + 1
        for lo in range(0, len(new), commit_size):
            events = [
                PersonRegistered(
                    person_id=base + lo + i,
                    ssn=r.ssn,
                    first_name=r.first_name,
                    middle_name=r.middle_name,
                    last_name=r.last_name,
                    suffix=r.suffix,
                    dob=r.dob,
                    sex=r.sex,
                    birth_state=r.birth_state,
                    address=r.address,
                    city=r.city,
                    state=r.state,
                    zip=r.zip,
                    former_names=r.former_names,
                )
                for i, r in enumerate(new[lo : lo + commit_size])
            ]
            store.append(events, note=f"people {path.name}")
            commits += 1
            if progress:
                progress(len(events))
    return PeopleResult(len(new), len(rows) - len(new), commits)
