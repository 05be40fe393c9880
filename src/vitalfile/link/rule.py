"""The deterministic rule: exact SSN, exact date of birth and exact last name.

Anything else is *unlinked* (a report with an unusable SSN is *held*: the death may still
have happened, and a person must look). A link a reviewer undid is never made again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from vitalfile.events import ReportReceived
from vitalfile.ledger.store import Store
from vitalfile.link.base import LinkResult
from vitalfile.link.onfile import vetoes_of

__all__ = ["RuleLinker", "norm_name"]


def norm_name(text: str) -> str:
    """Upper case, single spaces: the form names are compared in."""
    return " ".join(text.upper().split())


class RuleLinker:
    version = "rule-1"

    def link(self, store: Store, reports: Sequence[ReportReceived]) -> list[LinkResult]:
        ssns = sorted({r.ssn for r in reports if r.ssn and not r.ssn_flag})
        by_ssn: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        if ssns:
            table = store.query_arrow(
                "SELECT p.person_id, p.ssn, p.dob, p.last_name FROM persons p "
                "JOIN (SELECT unnest(?::VARCHAR[]) AS ssn) q ON p.ssn = q.ssn",
                [ssns],
            )
            for pid, ssn, dob, last in zip(
                *(table.column(i).to_pylist() for i in range(4)), strict=True
            ):
                by_ssn[ssn].append((int(pid), dob, last))
        vetoes = vetoes_of(store, [r.report_key for r in reports])
        out: list[LinkResult] = []
        for r in reports:
            out.append(self._one(r, by_ssn.get(r.ssn, []), vetoes.get(r.report_key, set())))
        return out

    def _one(
        self, r: ReportReceived, people: list[tuple[int, str, str]], vetoed: set[int]
    ) -> LinkResult:
        key = r.report_key
        if r.ssn_flag:
            return LinkResult(key, "held", reason=f"SSN unusable: {r.ssn_flag}")
        if not r.ssn:
            return LinkResult(key, "unlinked", reason="no SSN; the rule links on SSN only")
        if not people:
            return LinkResult(key, "unlinked", reason="no person on file with this SSN")
        matches = [
            pid
            for pid, dob, last in people
            if dob == r.dob and r.dob and norm_name(last) == norm_name(r.last_name)
        ]
        matches = [m for m in matches if m not in vetoed]
        if len(matches) == 1:
            return LinkResult(key, "linked", person_id=matches[0], probability=1.0)
        if len(matches) > 1:
            return LinkResult(
                key,
                "held",
                reason="several people on file match",
                person_id=matches[0],
                runner_up=matches[1],
            )
        return LinkResult(key, "unlinked", reason="SSN on file, but birth date or last name differ")
