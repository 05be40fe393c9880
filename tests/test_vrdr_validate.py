"""Validation of the resources read: the shortcut by shape finds what full validation finds.

Every resource of every VRDR fixture (the published examples of the VRDR and messaging
guides among them, which do not validate strictly) and thousands of damaged copies of them
(a key dropped, a value made empty, a number, an impossible date, null, an object or a list
in its place) get the same findings from `validation_findings` as from full `fhir.resources`
validation, the first time (a shape not seen) and the second (from the cache).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitalfile.sources.vrdr import VrdrReport, write_message
from vitalfile.sources.vrdr_validate import clear_cache, full_findings, validation_findings

FIXTURES = Path(__file__).parent / "fixtures" / "vrdr"


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for entry in bundle.get("entry") or ():
        res = entry.get("resource")
        if isinstance(res, dict):
            found.append(res)
            if res.get("resourceType") == "Bundle":
                found.extend(_resources(res))
    return found


def _fixture_resources() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(FIXTURES.rglob("*.json")):
        out.extend(_resources(json.loads(path.read_text())))
    return out


ALL = _fixture_resources()


def test_every_fixture_resource_gets_the_findings_of_full_validation() -> None:
    clear_cache()
    assert len(ALL) > 200
    with_findings = 0
    for _ in range(2):  # the second pass is answered from the cache
        for res in ALL:
            full = full_findings(res)
            assert validation_findings(res) == full, res.get("resourceType")
            with_findings += bool(full)
    assert with_findings > 0  # the published examples do not validate strictly


def _paths(node: Any) -> list[tuple[Any, Any]]:
    out: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((node, k))
            out.extend(_paths(v))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            out.extend(_paths(v))
    return out


_DAMAGE: list[Any] = ["", 12, -1, 1.5, True, "2020-13-45", "bad value with spaces", None, {}]


@given(
    which=st.integers(0, len(ALL) - 1),
    where=st.integers(0, 10_000),
    how=st.integers(0, len(_DAMAGE) + 2),
)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_damaged_resource_gets_the_findings_of_full_validation(
    which: int, where: int, how: int
) -> None:
    res = copy.deepcopy(ALL[which])
    paths = _paths(res)
    parent, key = paths[where % len(paths)]
    if how == len(_DAMAGE) and isinstance(parent, dict):
        del parent[key]
    elif how == len(_DAMAGE) + 1:
        parent[key] = [parent[key]]
    elif how == len(_DAMAGE) + 2:
        parent[key] = {"unknown": parent[key]}
    elif how < len(_DAMAGE):
        parent[key] = _DAMAGE[how]
    for _ in range(2):
        assert validation_findings(res) == full_findings(res)


def _message(cert: int, first: str, dob: str) -> dict[str, Any]:
    rec = VrdrReport(
        record_id=f"2025MA{cert:06d}",
        jurisdiction="MA",
        cert_no=f"{cert:06d}",
        death_year=2025,
        first_name=first,
        last_name="Tremblay",
        ssn="531762209",
        dob=dob,
        dod="2025-01-05",
        sex="F",
        death_state="MA",
    )
    return write_message(rec, "submission", message_id=f"m{cert}")


def _read_kinds(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources a reader validates (a Bundle holds resources: always validated in full)."""
    return [r for r in _resources(message) if r["resourceType"] != "Bundle"]


def test_resources_of_one_shape_are_validated_in_full_once() -> None:
    clear_cache()
    calls: list[str] = []
    import vitalfile.sources.vrdr_validate as v

    real = v.full_findings

    def counted(res: dict[str, Any]) -> list[str]:
        calls.append(str(res.get("resourceType")))
        return real(res)

    v.full_findings = counted  # type: ignore[assignment]
    try:
        for cert, first, dob in ((1, "Ann", "1950-01-02"), (2, "Efua", "1961-12-30")):
            for res in _read_kinds(_message(cert, first, dob)):
                assert validation_findings(res) == real(res)
        first_pass = len(calls)
        # an impossible birth date is not of the shape's findings: validated in full
        bad = _message(3, "Ines", "1950-01-02")
        patient = next(r for r in _resources(bad) if r["resourceType"] == "Patient")
        patient["birthDate"] = "1950-02-30"
        assert validation_findings(patient) == real(patient) != []
    finally:
        v.full_findings = real
    # the second message's resources had the first one's shapes
    assert first_pass == len(_read_kinds(_message(1, "Ann", "1950-01-02"))) > 4
    assert calls[-1] == "Patient" and len(calls) == first_pass + 1
