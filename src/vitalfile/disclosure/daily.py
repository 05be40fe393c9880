"""The work due each day, in one idempotent call (`vitalfile daily`): determinations whose
contest window ended put in effect, each recipient's owed update (or corrections) file written
through `extracts.extract_update`, overdue cases listed by owner, the day's signed checkpoint
published. It holds no rule of its own: each step is the library call its own command makes,
and a step with nothing to do writes nothing, so a second run the same day writes nothing new.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vitalfile.cases.framework import list_cases
from vitalfile.cases.window import advance
from vitalfile.disclosure.deliveries import allowed_sql, diff_sql, holdings_sql, scoped_sql
from vitalfile.disclosure.extracts import (
    FORMATS,
    ExtractResult,
    extract_update,
    finish_pending,
)
from vitalfile.disclosure.policy import DEATH_FIELDS, Grant, check
from vitalfile.errors import UsageError
from vitalfile.ledger.clock import today as clock_today
from vitalfile.ledger.store import Store
from vitalfile.ledger.verify import checkpoint_now

__all__ = ["DailyFile", "DailyResult", "owed_update", "run_daily"]


@dataclass(frozen=True)
class DailyFile:
    """One recipient's update file written today."""

    recipient: str
    path: str
    records: int
    adds: int
    changes: int
    deletes: int
    scope: str  # all | corrections
    checkpoint: str


@dataclass
class DailyResult:
    day: str
    in_effect: list[str] = field(default_factory=list)
    files: list[DailyFile] = field(default_factory=list)
    overdue: dict[str, list[str]] = field(default_factory=dict)  # owner ('' unassigned) → cases
    checkpoint: str = ""  # the day's checkpoint file
    checkpoint_commit: int = 0
    checkpoint_written: bool = False

    @property
    def wrote_anything(self) -> bool:
        return bool(self.in_effect or self.files or self.checkpoint_written)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "in_effect": list(self.in_effect),
            "files": [f.__dict__ for f in self.files],
            "overdue": {k: list(v) for k, v in self.overdue.items()},
            "overdue_cases": sum(len(v) for v in self.overdue.values()),
            "checkpoint": self.checkpoint,
            "checkpoint_commit": self.checkpoint_commit,
            "checkpoint_written": self.checkpoint_written,
        }


def owed_update(store: Store, recipient: str, *, on: date) -> tuple[str, dict[str, int]] | None:
    """(scope, {A, C, D counts}) of the update `extracts.extract_update` would give `recipient`
    on `on`, or None when it would be refused (nothing is recorded: this only reads). The scope
    is the one `policy.gate_file` gives: 'all' under an agreement in force, 'corrections' for a
    past recipient that holds records."""
    decision = check(store, recipient, fields=DEATH_FIELDS, on=on)
    has_full = store.query(
        "SELECT 1 FROM deliveries WHERE recipient = ? AND kind = 'full' LIMIT 1", [recipient]
    )
    if not has_full:
        return None  # an update needs an earlier full file: a recipient's first is made by hand
    if isinstance(decision, Grant):
        tier, scope = decision.tier, "all"
    elif decision.known:
        rows = store.query("SELECT tier FROM recipients WHERE recipient = ?", [recipient])
        tier, scope = str(rows[0][0]), "corrections"
    else:
        return None
    head = store.head()
    upto = head.last_seq if head else 0
    s_sql, s_params = allowed_sql(tier, on.isoformat())
    h_sql, h_params = holdings_sql(recipient, upto + 1)
    s_sql, s_params = scoped_sql(scope, s_sql, s_params, h_sql, h_params)
    diff, params = diff_sql(s_sql, s_params, h_sql, h_params)
    counts = {"A": 0, "C": 0, "D": 0}
    for action, n in store.query(f"SELECT x.action, count(*) FROM ({diff}) x GROUP BY 1", params):
        counts[str(action)] = int(n)
    return scope, counts


def _file_name(recipient: str, day: date, upto: int, fmt: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", recipient).lstrip(".") or "_"
    if safe != recipient:  # two ids that clean to the same name still get two files
        safe += "-" + hashlib.sha256(recipient.encode()).hexdigest()[:8]
    return f"{safe}-{day.isoformat()}-{upto}.{fmt}"


def _daily_file(x: ExtractResult) -> DailyFile:
    return DailyFile(
        recipient=x.recipient,
        path=str(x.path),
        records=x.records,
        adds=x.adds,
        changes=x.changes,
        deletes=x.deletes,
        scope=x.scope,
        checkpoint=str(x.checkpoint or ""),
    )


def run_daily(
    store: Store,
    out: Path,
    *,
    key: Ed25519PrivateKey,
    on: date | None = None,
    fmt: str = "dmf",
    checkpoint_dir: Path | None = None,
) -> DailyResult:
    """Do the day's work for `on` (default: today, UTC); safe to run twice or late.

    1. determinations whose contest window ended go into effect (`window.advance`, judged by
       the clock, never by `on`: a day that has not come is refused);
    2. a file a killed run recorded in `out` and did not rename is finished (its sidecar and
       its name; `extracts.finish_pending`); then every recipient with an earlier full file and
       something owed gets its update (or, when its agreement ended or narrowed, corrections)
       file in `out`, signed sidecar beside it;
    3. open cases past their due date, by owner;
    4. the signed checkpoint of the head after all that, `checkpoint-<commit>.json` in
       `checkpoint_dir` (default `out/checkpoints`), unless that file is there already.
    """
    if fmt not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(FORMATS)}", field="format")
    now = clock_today(store)
    day = on or now
    if day > now:
        raise UsageError("the day's work cannot be done for a day that has not come", field="on")
    out.mkdir(parents=True, exist_ok=True)
    cp_dir = checkpoint_dir or out / "checkpoints"
    cp_dir.mkdir(parents=True, exist_ok=True)
    result = DailyResult(day=day.isoformat())
    result.in_effect = advance(store)
    finished = finish_pending(store, out, key)  # files a killed run recorded, not yet named

    recipients = [str(r[0]) for r in store.query("SELECT recipient FROM recipients ORDER BY 1")]
    for recipient in recipients:
        owed = owed_update(store, recipient, on=day)
        if owed is None or not any(owed[1].values()):
            continue
        head = store.head()
        path = out / _file_name(recipient, day, head.last_seq if head else 0, fmt)
        x = extract_update(store, path, recipient=recipient, fmt=fmt, on=day, key=key)
        result.files.append(_daily_file(x))

    result.files[:0] = [_daily_file(x) for x in finished]
    for case in list_cases(store, overdue=True, today=day):
        result.overdue.setdefault(case.owner, []).append(case.case_id)

    if store.head() is not None:
        cp = checkpoint_now(store, key)
        path = cp_dir / f"checkpoint-{cp.commit_no}.json"
        result.checkpoint, result.checkpoint_commit = str(path), cp.commit_no
        if not path.exists():
            tmp = path.with_name(path.name + ".part")
            tmp.write_text(cp.to_json())
            tmp.replace(path)
            result.checkpoint_written = True
    return result
