"""Reading VRDR bundles: documents and every message of the NVSS messaging guide.

The reader is lenient by design. Each bundle is indexed once (by resource type and by
fullUrl / `Type/id`); the fields are then picked from the few resources that carry them.
Every resource read is validated with its `fhir.resources` model (R4B when present;
`vrdr_validate`) and what validation finds becomes a warning (resource type, error type and
location, never a value). A bundle is refused (`RecordError`) when it is not JSON, not a
Bundle, a message of a kind the guide does not define for death records, has no decedent
(documents, submissions and updates), no state record id (answers excepted), or a record id
part that no state writes wherever it appears (Parameters, `nchs_id`, the document's
identifier). A missing date of death stays missing: it is never taken from another date
(such as the date pronounced dead).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from vitalfile import ssn as ssn_rules
from vitalfile.errors import RecordError, UsageError
from vitalfile.events import partial_date
from vitalfile.sources.vrdr_common import (
    ANSWER_KINDS,
    DAR_URL,
    DEATH_DATE_CODE,
    EVENT_KINDS,
    MAX_BLOCK,
    PRONOUNCED_CODE,
    RECORD_ID,
    SSN_SYSTEM,
    MessageKind,
    VrdrReport,
    check_record_id,
    format_record_id,
)
from vitalfile.sources.vrdr_validate import validation_findings

__all__ = ["iter_bundles", "read_bundle", "validation_findings"]

_PARTIAL_NAMES = frozenset(
    {
        "partialdate",
        "partialdatetime",
        "extension-partial-date-vr",
        "extension-partial-date-time-vr",
        "vrdr-partial-date-part-absent-reason",
    }
)
_PART_NAMES = {
    "date-year": "year",
    "year": "year",
    "date-month": "month",
    "month": "month",
    "date-day": "day",
    "day": "day",
}
_PART_ABSENT = {
    "year-absent-reason": "year",
    "date-year-absent-reason": "year",
    "month-absent-reason": "month",
    "date-month-absent-reason": "month",
    "day-absent-reason": "day",
    "date-day-absent-reason": "day",
}
_JURISDICTION_EXTS = frozenset(
    {"location-jurisdiction-id", "nationalreportingjurisdictionid", "jurisdiction-id"}
)
_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_GENDER = {"male": "M", "female": "F", "unknown": "U", "m": "M", "f": "F", "u": "U"}
_DEATH_LOCATION_CODES = frozenset({"death", "450381000124100"})
_DEATH_CERTIFICATION_CODE = "308646001"
# A jurisdiction that is not a state, and the state it lies in.
_JURISDICTION_STATE = {"YC": "NY"}


# ── small JSON helpers (the input is untrusted: every access checks its type) ─────────────
def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _tail(url: Any) -> str:
    """The last path segment of an extension url, lower-cased (`.../Date-Year` → `date-year`)."""
    return url.rsplit("/", 1)[-1].lower() if isinstance(url, str) else ""


def _codes(concept: Any) -> Iterator[str]:
    for coding in _l(_d(concept).get("coding")):
        code = _d(coding).get("code")
        if isinstance(code, str):
            yield code


def _has_code(concept: Any, code: str) -> bool:
    return any(c == code for c in _codes(concept))


def _profiles(resource: dict[str, Any]) -> str:
    return " ".join(p for p in _l(_d(resource.get("meta")).get("profile")) if isinstance(p, str))


def _ext_value(ext: dict[str, Any]) -> str:
    """The code or text an extension carries (string, code, Coding or CodeableConcept)."""
    for key in ("valueString", "valueCode"):
        if isinstance(ext.get(key), str):
            return str(ext[key]).strip()
    coding = _d(ext.get("valueCoding"))
    if isinstance(coding.get("code"), str):
        return str(coding["code"]).strip()
    return next(_codes(ext.get("valueCodeableConcept")), "").strip()


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


# ── the index ─────────────────────────────────────────────────────────────────────────────
class _Index:
    """A bundle's resources by type and by reference (fullUrl and `Type/id`), built once."""

    __slots__ = ("by_ref", "by_type")

    def __init__(self) -> None:
        self.by_type: dict[str, list[dict[str, Any]]] = {}
        self.by_ref: dict[str, dict[str, Any]] = {}

    def add(self, bundle: dict[str, Any]) -> None:
        for entry in _l(bundle.get("entry")):
            entry = _d(entry)
            res = entry.get("resource")
            if not isinstance(res, dict):
                continue
            rtype = res.get("resourceType")
            if not isinstance(rtype, str):
                continue
            self.by_type.setdefault(rtype, []).append(res)
            full = entry.get("fullUrl")
            if isinstance(full, str):
                self.by_ref[full] = res
            rid = res.get("id")
            if isinstance(rid, str):
                self.by_ref.setdefault(f"{rtype}/{rid}", res)

    def of(self, rtype: str) -> list[dict[str, Any]]:
        return self.by_type.get(rtype, [])

    def resolve(self, reference: Any, rtype: str | None = None) -> dict[str, Any] | None:
        ref = _d(reference).get("reference")
        if not isinstance(ref, str) or not ref:
            return None
        hit = self.by_ref.get(ref)
        if hit is None:
            parts = ref.rstrip("/").split("/")
            if len(parts) >= 2:
                hit = self.by_ref.get(f"{parts[-2]}/{parts[-1]}")
        if hit is not None and rtype is not None and hit.get("resourceType") != rtype:
            return None
        return hit


# ── dates ─────────────────────────────────────────────────────────────────────────────────
def _parts_from_text(text: Any) -> tuple[int, int, int]:
    m = _DATE.match(text) if isinstance(text, str) else None
    if not m:
        return 0, 0, 0
    return int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)


def _absent(element: Any) -> bool:
    """True when a primitive's extension element says the value is absent (any reason)."""
    return any(_d(e).get("url") == DAR_URL for e in _l(_d(element).get("extension")))


def _parts_from_partial(ext: dict[str, Any]) -> tuple[int, int, int]:
    """Year, month, day (0 when unknown) from an old or new partial-date extension."""
    found = {"year": 0, "month": 0, "day": 0}
    for sub in _l(ext.get("extension")):
        sub = _d(sub)
        name = _tail(sub.get("url"))
        part = _PART_NAMES.get(name)
        if part is None:
            continue  # the time part, an absent-reason part: unknown stays 0
        value: int | None = None
        for key in ("valueUnsignedInt", "valueInteger", "valuePositiveInt", "valueString"):
            if key in sub:
                value = _int(sub[key])
                break
        if value is not None and value > 0:
            found[part] = value
    return found["year"], found["month"], found["day"]


def _partial_ext(element: Any) -> dict[str, Any] | None:
    for ext in _l(_d(element).get("extension")):
        if _tail(_d(ext).get("url")) in _PARTIAL_NAMES:
            return _d(ext)
    return None


def _as_partial(y: int, m: int, d: int, what: str, notes: list[str]) -> str:
    """`YYYY-MM-DD` with `00` parts; the valid part of an impossible date, noted."""
    if y <= 0 or y > 9999:
        return ""
    if m > 12 or m < 0:
        m, d = 0, 0
    if m == 0:
        d = 0
    text = f"{y:04d}-{m:02d}-{d:02d}"
    try:
        return partial_date(text)
    except ValueError:
        notes.append(f"read: {what} is not a valid date, kept its year and month")
        return f"{y:04d}-{m:02d}-00"


def _read_date(value: Any, element: Any, what: str, notes: list[str]) -> str:
    """A FHIR date/dateTime primitive and its `_value` element as partial ISO text."""
    y, m, d = _parts_from_text(value)
    if y and m and d:
        return _as_partial(y, m, d, what, notes)
    ext = _partial_ext(element)
    if ext is not None:
        ey, em, ed = _parts_from_partial(ext)
        if not y or ey == y:  # the value, when there is one, must agree on the year
            y, m, d = y or ey, m or em, d or ed
    if not y:
        return ""
    return _as_partial(y, m, d, what, notes)


def _period_date(period: Any, notes: list[str]) -> str:
    """What a period's start and end agree on (`YYYY-MM-00` if only year and month)."""
    p = _d(period)
    a = _read_date(p.get("start"), p.get("_start"), "date of death", notes)
    b = _read_date(p.get("end"), p.get("_end"), "date of death", notes)
    if not a or not b:
        return a or b
    if a == b:
        return a
    if a[:7] == b[:7]:
        return a[:7] + "-00"
    if a[:4] == b[:4]:
        return a[:4] + "-00-00"
    return ""


# ── the pieces of a death record ──────────────────────────────────────────────────────────
def _decedent(idx: _Index, composition: dict[str, Any] | None) -> dict[str, Any] | None:
    if composition is not None:
        hit = idx.resolve(composition.get("subject"), "Patient")
        if hit is not None:
            return hit
    patients = idx.of("Patient")
    for p in patients:
        if "decedent" in _profiles(p).lower():
            return p
    return patients[0] if patients else None


def _name_parts(name: dict[str, Any]) -> tuple[list[str], str, str]:
    given = [g.strip() for g in _l(name.get("given")) if isinstance(g, str) and g.strip()]
    family = _s(name.get("family"))
    suffix = " ".join(_s(s) for s in _l(name.get("suffix")) if _s(s))
    if not given and not family:
        words = _s(name.get("text")).split()
        if words:
            given, family = words[:-1], words[-1]
    return given, family, suffix


def _names(patient: dict[str, Any]) -> tuple[str, str, str, str, tuple[str, ...]]:
    names = [n for n in _l(patient.get("name")) if isinstance(n, dict)]
    if not names:
        return "", "", "", "", ()
    official = next((n for n in names if n.get("use") == "official"), None)
    if official is None:
        official = next((n for n in names if n.get("use") in (None, "usual")), names[0])
    given, family, suffix = _name_parts(official)
    aliases: list[str] = []
    for n in names:
        if n is official:
            continue
        g, f, _ = _name_parts(n)
        text = " ".join([*g, f]).strip()
        if text and text not in aliases:
            aliases.append(text)
    return (given[0] if given else ""), " ".join(given[1:]), family, suffix, tuple(aliases)


def _ssn(patient: dict[str, Any]) -> tuple[str, str]:
    """(9 digits or "", why unusable or ""); a never-issued number is kept and flagged."""
    for ident in _l(patient.get("identifier")):
        ident = _d(ident)
        if ident.get("system") != SSN_SYSTEM:
            continue
        value = _s(ident.get("value"))
        if not value:
            return "", ""
        try:
            digits = ssn_rules.parse(value)
        except RecordError as exc:
            return "", exc.message
        return digits, ssn_rules.never_issued_reason(digits) or ""
    return "", ""


def _sex(patient: dict[str, Any]) -> str:
    gender = patient.get("gender")
    if isinstance(gender, str):
        return _GENDER.get(gender.lower(), "")
    for ext in _l(patient.get("extension")):
        ext = _d(ext)
        if _tail(ext.get("url")) in ("nvss-sexatdeath", "nvss-sex-at-death", "sexatdeath"):
            return _GENDER.get(_ext_value(ext).lower(), "")
    return ""


def _death_date_obs(idx: _Index) -> dict[str, Any] | None:
    for obs in idx.of("Observation"):
        if _has_code(obs.get("code"), DEATH_DATE_CODE):
            return obs
    return None


def _dod(obs: dict[str, Any], notes: list[str]) -> str:
    if "valuePeriod" in obs:
        dod = _period_date(obs.get("valuePeriod"), notes)
    else:
        dod = _read_date(
            obs.get("valueDateTime"), obs.get("_valueDateTime"), "date of death", notes
        )
    if dod:
        return dod
    # the date pronounced dead is another fact, never the date of death: the report is held
    if any(_has_code(_d(c).get("code"), PRONOUNCED_CODE) for c in _l(obs.get("component"))):
        notes.append("read: no date of death (the date pronounced dead is not used for it)")
    return ""


def _death_location(idx: _Index) -> dict[str, Any] | None:
    for loc in idx.of("Location"):
        if "death-location" in _profiles(loc).lower():
            return loc
        if any(c in _DEATH_LOCATION_CODES for t in _l(loc.get("type")) for c in _codes(t)):
            return loc
    return None


def _location_jurisdiction(loc: dict[str, Any]) -> str:
    address = _d(loc.get("address"))
    for ext in [*_l(loc.get("extension")), *_l(_d(address.get("_state")).get("extension"))]:
        ext = _d(ext)
        if _tail(ext.get("url")) in _JURISDICTION_EXTS:
            code = _ext_value(ext).upper()
            if len(code) == 2:
                return code
    return ""


@lru_cache(maxsize=256)
def _state_code(text: str) -> str:
    text = text.strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    if not text:
        return ""
    import us  # only for states written out in full (rare)

    found = us.states.lookup(text)
    return str(found.abbr) if found is not None else ""


def _person_name(resource: dict[str, Any]) -> str:
    names = [n for n in _l(resource.get("name")) if isinstance(n, dict)]
    if names:
        chosen = next((n for n in names if n.get("use") == "official"), names[0])
        given, family, _ = _name_parts(chosen)
        text = " ".join([*given, family]).strip()
        if text:
            return text
    for ident in _l(resource.get("identifier")):
        value = _s(_d(ident).get("value"))
        if value:
            return value
    return ""


def _certifier(idx: _Index, composition: dict[str, Any] | None) -> dict[str, Any] | None:
    if composition is not None:
        for att in _l(composition.get("attester")):
            hit = idx.resolve(_d(att).get("party"), "Practitioner")
            if hit is not None:
                return hit
    for proc in idx.of("Procedure"):
        if _has_code(proc.get("code"), _DEATH_CERTIFICATION_CODE):
            for perf in _l(proc.get("performer")):
                hit = idx.resolve(_d(perf).get("actor"), "Practitioner")
                if hit is not None:
                    return hit
    for prac in idx.of("Practitioner"):
        if "certifier" in _profiles(prac).lower():
            return prac
    return None


def _parameters(params: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in _l(_d(params).get("parameter")):
        p = _d(p)
        name = p.get("name")
        if not isinstance(name, str):
            continue
        for key, value in p.items():
            if key.startswith("value"):
                out[name] = value
                break
    return out


def _message_kind(
    raw: dict[str, Any], idx: _Index
) -> tuple[MessageKind, str, str, dict[str, Any] | None]:
    """(kind, message id, event uri, header) — a plain document has no header."""
    if raw.get("type") != "message":
        return "document", "", "", None
    headers = idx.of("MessageHeader")
    header = headers[0] if headers else None
    event = ""
    if header is not None:
        event = _s(header.get("eventUri")) or _s(_d(header.get("eventCoding")).get("code"))
    kind = EVENT_KINDS.get(event.rstrip("/"), "submission")  # an unknown event is refused later
    message_id = _s(_d(header).get("id")) or _s(raw.get("id"))
    return kind, message_id, event, header  # type: ignore[return-value]


def _header_parts(header: dict[str, Any] | None) -> tuple[str, str, str]:
    """(the sender's endpoint, the message id answered, the response code)."""
    h = _d(header)
    response = _d(h.get("response"))
    return (
        _s(_d(h.get("source")).get("endpoint")),
        _s(response.get("identifier")),
        _s(response.get("code")),
    )


def _record_id_parts(
    params: dict[str, Any],
    document: dict[str, Any] | None,
    dod: str,
    location_jurisdiction: str,
    death_state: str,
    notes: list[str],
) -> tuple[int, str, str] | None:
    """(death year, jurisdiction, 6-digit cert no) from Parameters, identifier or parts.

    Every part found is checked (`check_record_id`): a bad one refuses the bundle.
    `event_year` (the guide's name since v2.0) is preferred, `death_year` accepted.
    """
    e_year, d_year = _int(params.get("event_year")), _int(params.get("death_year"))
    if ("event_year" in params and e_year is None) or ("death_year" in params and d_year is None):
        raise RecordError("the year parameter is not a number", field="Parameters.event_year")
    if e_year is not None and d_year is not None and e_year != d_year:
        raise RecordError("event_year and death_year differ", field="Parameters.event_year")
    p_year = e_year if e_year is not None else d_year
    p_jur = _s(params.get("jurisdiction_id")).upper()
    p_cert = _int(params.get("cert_no"))
    if "cert_no" in params and p_cert is None:
        raise RecordError("cert_no is not a number", field="Parameters.cert_no")
    if "jurisdiction_id" in params:
        check_record_id(p_year or 1900, p_jur, p_cert or 1, where="Parameters.jurisdiction_id")
    if p_year is not None:
        check_record_id(p_year, p_jur or "MA", p_cert or 1, where="Parameters.event_year")
    if p_cert is not None:
        check_record_id(p_year or 1900, p_jur or "MA", p_cert, where="Parameters.cert_no")
    from_params: tuple[int, str, str] | None = None
    if p_year is not None and p_jur and p_cert is not None:
        from_params = (p_year, p_jur, f"{p_cert:06d}")
    nchs_id = _s(params.get("nchs_id"))
    if nchs_id:
        m = RECORD_ID.match(nchs_id)
        if not m:
            raise RecordError("nchs_id is not YYYY + jurisdiction + 6 digits", field="nchs_id")
        check_record_id(int(m.group(1)), m.group(2), int(m.group(3)), where="nchs_id")
        if from_params is None:
            from_params = (int(m.group(1)), m.group(2), m.group(3))

    identifier = _d(_d(document).get("identifier"))
    ident_value = _s(identifier.get("value"))
    m = RECORD_ID.match(ident_value)
    from_doc = (int(m.group(1)), m.group(2), m.group(3)) if m else None
    if from_doc is not None:
        check_record_id(from_doc[0], from_doc[1], int(from_doc[2]), where="Bundle.identifier")
    for ext in _l(identifier.get("extension")):
        if _tail(_d(ext).get("url")) == "certificatenumber":
            text = _ext_value(_d(ext))
            if not (text.isdigit() and len(text) <= 6 and int(text) >= 1):
                raise RecordError(
                    "the certificate number is not 6 digits (000001-999999)",
                    field="Bundle.identifier.certificateNumber",
                )
    if from_params is not None:
        if from_doc is not None and from_doc != from_params:
            notes.append("read: the Parameters record id differs from the document identifier")
        return from_params
    if from_doc is not None:
        return from_doc

    cert: int | None = p_cert
    if cert is None:
        for ext in _l(identifier.get("extension")):
            if _tail(_d(ext).get("url")) == "certificatenumber":
                cert = _int(_ext_value(_d(ext)))
        if cert is None and ident_value.isdigit() and len(ident_value) <= 6:
            cert = int(ident_value)
    year = p_year or (int(dod[:4]) if dod else None)
    jur = p_jur if len(p_jur) == 2 else (location_jurisdiction or death_state)
    if cert is None or not year or len(jur) != 2:
        return None
    check_record_id(year, jur, cert, where="Bundle.identifier")
    return year, jur, f"{cert:06d}"


# ── the reader ────────────────────────────────────────────────────────────────────────────
def _load(data: str | bytes | dict[str, Any], file: str | None, line: int | None) -> Any:
    if isinstance(data, dict):
        return data
    try:
        if isinstance(data, bytes | bytearray):
            data = bytes(data).decode("utf-8-sig")
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
        raise RecordError(f"not JSON ({type(exc).__name__})", file=file, line=line) from None


def read_bundle(
    data: str | bytes | dict[str, Any], *, file: str | None = None, line: int | None = None
) -> VrdrReport:
    """Read one VRDR bundle (a document, or any message of the NVSS messaging guide).

    Raises `RecordError` when the input is not JSON, not a Bundle, a message kind the guide
    does not define for deaths, has no decedent (documents, submissions and updates), no
    state record id (answers excepted), or a record id part no state writes; the message
    names the field and never holds personal data.
    """
    raw = _load(data, file, line)
    if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
        raise RecordError("not a FHIR Bundle", file=file, line=line, field="resourceType")
    try:
        return _read(raw)
    except RecordError as exc:  # named by file, line and the message's id (no values)
        raise RecordError(
            exc.message,
            file=exc.context.get("file", file),
            line=exc.line if exc.line is not None else line,
            field=exc.field,
            record_id=exc.context.get("record_id") or _peek_message_id(raw),
        ) from None


def _peek_message_id(raw: dict[str, Any]) -> str | None:
    """The MessageHeader id of a message bundle (to name it in an error), or None."""
    if raw.get("type") != "message":
        return None
    for entry in _l(raw.get("entry")):
        res = _d(_d(entry).get("resource"))
        if res.get("resourceType") == "MessageHeader":
            return _s(res.get("id"))[:80] or None
    return None


_DECEDENT_KINDS = frozenset({"document", "submission", "update"})


def _read(raw: dict[str, Any]) -> VrdrReport:
    file = line = None
    notes: list[str] = []
    idx = _Index()
    idx.add(raw)
    kind, message_id, event, header = _message_kind(raw, idx)

    document: dict[str, Any] | None = raw if kind == "document" else None
    if kind != "document":
        for inner in idx.of("Bundle"):
            if inner.get("type") == "document":
                document = inner
                idx.add(inner)
                break
        if event and event.rstrip("/") not in EVENT_KINDS:
            raise RecordError(
                "not a death record message of the NVSS messaging guide (unknown eventUri)",
                file=file,
                line=line,
                field="MessageHeader.eventUri",
            )
        if header is None:
            notes.append("read: message without a MessageHeader, read as a submission")
    elif raw.get("type") != "document":
        notes.append("read: Bundle type is not document, read as one")

    validated: list[dict[str, Any]] = []
    params_resource = next(iter(idx.of("Parameters")), None)
    for res in (header, params_resource):
        if res is not None:
            validated.append(res)
    params = _parameters(params_resource)

    compositions = idx.of("Composition")
    composition = compositions[0] if compositions else None
    patient = _decedent(idx, composition) if kind in _DECEDENT_KINDS else None
    if patient is None and kind in _DECEDENT_KINDS:
        raise RecordError("no decedent (no Patient in the bundle)", file=file, line=line)

    fields: dict[str, Any] = {}
    dod = ""
    death_state = ""
    location_jurisdiction = ""
    location: dict[str, Any] | None = None
    if patient is not None:
        if composition is not None:
            validated.append(composition)
        validated.append(patient)
        first, middle, last, suffix, aliases = _names(patient)
        ssn, ssn_flag = _ssn(patient)
        dob = _read_date(patient.get("birthDate"), patient.get("_birthDate"), "birth date", notes)
        fields.update(
            first_name=first,
            middle_name=middle,
            last_name=last,
            suffix=suffix,
            aliases=aliases,
            ssn=ssn,
            ssn_flag=ssn_flag,
            dob=dob,
            sex=_sex(patient),
        )
        obs = _death_date_obs(idx)
        if obs is not None:
            validated.append(obs)
            dod = _dod(obs, notes)
        else:
            notes.append("read: no death date observation")
        location = _death_location(idx)
        if location is not None:
            validated.append(location)
            death_state = _state_code(_s(_d(location.get("address")).get("state")))
            location_jurisdiction = _location_jurisdiction(location)
        certifier = _certifier(idx, composition)
        if certifier is not None:
            validated.append(certifier)
            fields["certifier"] = _person_name(certifier)
        fields["dod"] = dod

    source_endpoint, response_to, response_code = _header_parts(header)
    parts = _record_id_parts(params, document, dod, location_jurisdiction, death_state, notes)
    if parts is None and kind not in ANSWER_KINDS:
        raise RecordError("no state record id", file=file, line=line, field="record_id")
    if kind in ANSWER_KINDS and not response_to:
        raise RecordError(
            f"a {kind.replace('_', ' ')} must name the message it answers",
            field="MessageHeader.response.identifier",
        )
    message_fields: dict[str, Any] = {
        "source_endpoint": source_endpoint,
        "response_to": response_to,
        "response_code": response_code,
    }
    if kind == "void":
        message_fields["block_count"] = _block_count(params, parts)
    elif kind == "status":
        message_fields["status"] = _s(params.get("status"))
    elif kind == "alias":
        alias = tuple(
            (name, _s(value))
            for name, value in params.items()
            if name.startswith("alias_") and isinstance(value, str) and value.strip()
        )
        if not alias:
            raise RecordError("an alias message carries no alias_* parameter", field="Parameters")
        message_fields["alias"] = alias
    if parts is None:  # an answer without Parameters: matched by the message it answers
        return VrdrReport(
            record_id="",
            jurisdiction="",
            cert_no="",
            death_year=0,
            message_kind=kind,
            message_id=message_id,
            warnings=tuple(f for res in validated for f in validation_findings(res)) + tuple(notes),
            **message_fields,
        )
    year, jurisdiction, cert_no = parts
    if patient is not None and location is None:
        death_state = _JURISDICTION_STATE.get(jurisdiction, jurisdiction)
        if len(_state_code(death_state)) != 2:
            death_state = ""
    if patient is not None:
        fields["death_state"] = death_state

    findings: list[str] = []
    for res in validated:
        findings.extend(validation_findings(res))
    return VrdrReport(
        record_id=format_record_id(year, jurisdiction, cert_no),
        jurisdiction=jurisdiction,
        cert_no=cert_no,
        death_year=year,
        message_kind=kind,
        message_id=message_id,
        warnings=tuple(findings + notes),
        **message_fields,
        **fields,
    )


def _block_count(params: dict[str, Any], parts: tuple[int, str, str] | None) -> int:
    """How many certificates a void covers (1 when not given), refused when out of range."""
    if "block_count" not in params:
        return 1
    count = _int(params.get("block_count"))
    if count is None or count < 1:
        raise RecordError("block_count must be a whole number of at least 1", field="block_count")
    if count > MAX_BLOCK:
        raise RecordError(f"block_count is more than {MAX_BLOCK}", field="block_count")
    if parts is not None and int(parts[2]) + count - 1 > 999_999:
        raise RecordError("block_count runs past certificate number 999999", field="block_count")
    return count


# ── files, folders, NDJSON ────────────────────────────────────────────────────────────────
def _lines(path: Path, text: str) -> Iterator[VrdrReport | RecordError]:
    name = str(path)
    for number, line_text in enumerate(text.splitlines(), start=1):
        if not line_text.strip():
            continue
        try:
            yield read_bundle(line_text, file=name, line=number)
        except RecordError as exc:
            yield exc


def _file(path: Path) -> Iterator[VrdrReport | RecordError]:
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        yield RecordError(f"unreadable file ({type(exc).__name__})", file=name)
        return
    if path.suffix.lower() in (".ndjson", ".jsonl"):
        yield from _lines(path, text)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        if sum(1 for t in text.splitlines() if t.strip()) > 1:
            yield from _lines(path, text)  # NDJSON under a .json name
        else:
            yield RecordError("not JSON", file=name, line=1)
        return
    try:
        yield read_bundle(data, file=name, line=1)
    except RecordError as exc:
        yield exc


def iter_bundles(path: str | Path) -> Iterator[VrdrReport | RecordError]:
    """Each bundle of a .json file, a folder of JSON files (sorted) or NDJSON, in order.

    Yields a `VrdrReport` or the `RecordError` naming the file and line of a refused bundle.
    """
    root = Path(path)
    if root.is_dir():
        files = sorted(
            p
            for p in root.iterdir()
            if p.is_file() and p.suffix.lower() in (".json", ".ndjson", ".jsonl")
        )
        for f in files:
            yield from _file(f)
    elif root.is_file():
        yield from _file(root)
    else:
        raise UsageError("no such file or folder", file=str(root))
