"""What the person on the file sees of themselves: what the file holds about them, every
disclosure of it (their accounting), and their notices. Read-only; the access code that
opens it is `cases.access`'s."""

from __future__ import annotations

from typing import Any

from vitalfile.cases.determinations import list_determinations, notice_text_of
from vitalfile.disclosure.accounting import accounting, my_record
from vitalfile.errors import NotFound
from vitalfile.ledger.store import Store
from vitalfile.master.projection import status_of

__all__ = ["own_record"]


def own_record(store: Store, person_id: int) -> dict[str, Any]:
    """What the file holds about the person, every disclosure of it, and their notices."""
    rows = store.query("SELECT ssn FROM persons WHERE person_id = ?", [person_id])
    if not rows:
        raise NotFound("no such person")
    ssn = str(rows[0][0])
    record = [r for r in my_record(store, ssn) if r.get("person_id") == person_id]
    notices = []
    for d in list_determinations(store, person_id=person_id):
        if d.notice_id:
            notices.append(
                {
                    "determination": d,
                    "text": notice_text_of(store, d.notice_id) or "",
                    "contestable": d.state == "notice_issued",
                }
            )
    st = status_of(store, person_id)
    return {
        "person_id": person_id,
        "record": record,
        "fields": st.person or {},
        "death": st.death,
        "accounting": [r for r in accounting(store, ssn) if r["person_id"] == person_id],
        "notices": notices,
    }
