"""Writing VRDR bundles: documents and messages from a `VrdrReport`, and the answers to a state.

`write_document` makes a DeathCertificateDocument bundle, `write_message` wraps it in a
submission or update message (a void, alias or status carries only Parameters);
`acknowledgement` and `extraction_error` are the replies a receiver sends, addressed to the
sender's `source.endpoint`. Everything written reads back (`read_bundle`) to the same fields.
Ids are derived from the record id (document) or the message id (replies) so that writing
the same thing twice gives the same JSON.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from vitalfile.errors import RecordError
from vitalfile.sources.vrdr_common import (
    DAR_URL,
    DEATH_DATE_CODE,
    DOCUMENT_PROFILE,
    EVENT_ACKNOWLEDGEMENT,
    EVENT_EXTRACTION_ERROR,
    KIND_EVENTS,
    LOINC,
    NCHS_ID_SYSTEM,
    NEW_PARTIAL,
    OLD_PARTIAL,
    SSN_SYSTEM,
    VrdrReport,
)

__all__ = ["DateStyle", "acknowledgement", "extraction_error", "write_document", "write_message"]

DateStyle = Literal["plain", "new", "old"]
"""How a partial date is written: `plain` FHIR (`2020-11`), the newer vr-common-library
extension, or the older `vrdr/StructureDefinition/PartialDate*` extension."""

_NS = uuid.UUID("5f0c6a52-6c1e-4a36-9b9e-7d1f3b8f0a11")  # vitalfile VRDR ids
_VRDR = "http://hl7.org/fhir/us/vrdr/StructureDefinition/"
_VRM = "http://cdc.gov/nchs/nvss/fhir/vital-records-messaging/StructureDefinition/"
_SEX = {"M": "male", "F": "female", "U": "unknown"}
_RECEIVER = "http://nchs.cdc.gov/vrdr_submission"


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(parts)))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _ref(resource: dict[str, Any]) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource['id']}"}


def _date_element(text: str, style: DateStyle, time: bool) -> dict[str, Any]:
    """`{"value": ..., "_value": ...}` for a partial ISO date (`00` parts unknown)."""
    if not text:
        return {"_": {"extension": [{"url": DAR_URL, "valueCode": "unknown"}]}}
    y, m, d = text[:4], text[5:7], text[8:10]
    if m != "00" and d != "00":
        return {"": text}
    if style == "plain":
        return {"": y if m == "00" else f"{y}-{m}"}
    base = NEW_PARTIAL if style == "new" else OLD_PARTIAL
    subs: list[dict[str, Any]] = []
    for name, part in (("Date-Year", y), ("Date-Month", m), ("Date-Day", d)):
        if part != "00":
            subs.append({"url": base + name, "valueUnsignedInt": int(part)})
        elif style == "old":  # the older form names the unknown part (not strictly valid)
            absent = {"extension": [{"url": DAR_URL, "valueCode": "unknown"}]}
            subs.append({"url": base + name, "_valueUnsignedInt": absent})
    outer = base + ("PartialDateTime" if time else "PartialDate")
    return {"_": {"extension": [{"url": outer, "extension": subs}]}}


def _put_date(resource: dict[str, Any], key: str, text: str, style: DateStyle, time: bool) -> None:
    for suffix, value in _date_element(text, style, time).items():
        resource[key if suffix == "" else f"_{key}"] = value


def _human_name(text: str, use: str) -> dict[str, Any]:
    words = text.split()
    name: dict[str, Any] = {"use": use}
    if words:
        name["family"] = words[-1]
    if len(words) > 1:
        name["given"] = words[:-1]
    return name


def write_document(
    report: VrdrReport,
    *,
    date_style: DateStyle = "new",
    timestamp: str | None = None,
) -> dict[str, Any]:
    """A VRDR DeathCertificateDocument bundle holding `report`'s fields."""
    rid = report.record_id
    when = timestamp or _now()

    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": _uid(rid, "decedent"),
        "meta": {"profile": [_VRDR + "vrdr-decedent"]},
    }
    if report.ssn:
        patient["identifier"] = [
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "SB"}
                    ]
                },
                "system": SSN_SYSTEM,
                "value": report.ssn,
            }
        ]
    official: dict[str, Any] = {"use": "official"}
    if report.last_name:
        official["family"] = report.last_name
    given = [g for g in [report.first_name, *report.middle_name.split()] if g]
    if given:
        official["given"] = given
    if report.suffix:
        official["suffix"] = report.suffix.split()
    aliases = [_human_name(alias, "nickname") for alias in report.aliases if alias.split()]
    names = [official, *aliases] if len(official) > 1 or aliases else []
    if names:
        patient["name"] = names
    if report.sex in _SEX:
        patient["gender"] = _SEX[report.sex]
    _put_date(patient, "birthDate", report.dob, date_style, time=False)

    death_date: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _uid(rid, "death-date"),
        "meta": {"profile": [_VRDR + "vrdr-death-date"]},
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": DEATH_DATE_CODE}]},
        "subject": _ref(patient),
    }
    _put_date(death_date, "valueDateTime", report.dod, date_style, time=True)

    location: dict[str, Any] = {
        "resourceType": "Location",
        "id": _uid(rid, "death-location"),
        "meta": {"profile": [_VRDR + "vrdr-death-location"]},
        "type": [
            {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/us/vrdr/CodeSystem/vrdr-location-type-cs",
                        "code": "death",
                    }
                ]
            }
        ],
    }
    if report.death_state:
        location["address"] = {"state": report.death_state, "country": "US"}

    resources: list[dict[str, Any]] = [patient, death_date, location]
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": _uid(rid, "composition"),
        "meta": {"profile": [_VRDR + "vrdr-death-certificate"]},
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "64297-5"}]},
        "subject": _ref(patient),
        "date": when,
        "title": "Death Certificate",
        "author": [{"display": "state vital records office"}],
    }
    if report.certifier:
        certifier: dict[str, Any] = {
            "resourceType": "Practitioner",
            "id": _uid(rid, "certifier"),
            "meta": {"profile": [_VRDR + "vrdr-certifier"]},
        }
        if report.certifier.isdigit():
            certifier["identifier"] = [
                {"system": "http://hl7.org/fhir/sid/us-npi", "value": report.certifier}
            ]
        else:
            certifier["name"] = [_human_name(report.certifier, "official")]
        resources.append(certifier)
        composition["author"] = [_ref(certifier)]
        composition["attester"] = [{"mode": "legal", "party": _ref(certifier)}]
    composition["section"] = [{"entry": [_ref(r) for r in resources]}]

    cert_ext = {"url": _VRDR + "CertificateNumber", "valueString": report.cert_no}
    return {
        "resourceType": "Bundle",
        "id": _uid(rid, "document"),
        "meta": {"profile": [DOCUMENT_PROFILE]},
        "identifier": {"extension": [cert_ext], "system": NCHS_ID_SYSTEM, "value": rid},
        "type": "document",
        "timestamp": when,
        "entry": [_entry(composition), *(_entry(r) for r in resources)],
    }


def _parameters(report: VrdrReport, message_id: str, extra: dict[str, Any]) -> dict[str, Any]:
    params: list[dict[str, Any]] = []
    if report.record_id:
        params = [
            {"name": "jurisdiction_id", "valueString": report.jurisdiction},
            {"name": "cert_no", "valueUnsignedInt": int(report.cert_no)},
            {"name": "event_year", "valueUnsignedInt": report.death_year},
        ]
    for k, v in extra.items():
        key = "valueUnsignedInt" if isinstance(v, int) else "valueString"
        params.append({"name": k, key: v})
    return {
        "resourceType": "Parameters",
        "id": _uid(message_id, "parameters"),
        "meta": {"profile": [_VRM + "VRM-MessageParameters"]},
        "parameter": params,
    }


def _message(
    event: str,
    message_id: str,
    header_extra: dict[str, Any],
    resources: list[dict[str, Any]],
    *,
    source: str,
    destination: str,
    timestamp: str | None,
) -> dict[str, Any]:
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": message_id,
        "eventUri": event,
        "destination": [{"endpoint": destination}],
        "source": {"endpoint": source},
        **header_extra,
    }
    return {
        "resourceType": "Bundle",
        "id": _uid(message_id, "bundle"),
        "type": "message",
        "timestamp": timestamp or _now(),
        "entry": [_entry(header), *(_entry(r) for r in resources)],
    }


def write_message(
    report: VrdrReport,
    kind: str | None = None,
    *,
    message_id: str | None = None,
    source: str = "http://example.org/edrs",
    date_style: DateStyle = "new",
    timestamp: str | None = None,
) -> dict[str, Any]:
    """A VRDR message of `kind` for `report` (MessageHeader + Parameters [+ document]).

    `kind` defaults to the report's own kind (a document becomes a submission); the message
    id to the report's, or a new random one. A void carries `report.block_count`, an alias
    `report.alias`, a status `report.status`, an answer `report.response_to`.
    """
    if kind is None:
        kind = report.message_kind if report.message_kind != "document" else "submission"
    if kind not in KIND_EVENTS:
        raise ValueError("kind must be a message kind of the NVSS messaging guide")
    mid = message_id or report.message_id or str(uuid.uuid4())
    extra: dict[str, Any] = {}
    if kind == "void":
        extra["block_count"] = report.block_count
    elif kind == "alias":
        extra.update(report.alias)
    elif kind == "status":
        extra["status"] = report.status
    params = _parameters(report, mid, extra)
    resources: list[dict[str, Any]] = [params]
    header_extra: dict[str, Any] = {}
    if report.response_to:
        header_extra["response"] = {
            "identifier": report.response_to,
            "code": report.response_code or "ok",
        }
    if kind in ("submission", "update"):
        document = write_document(report, date_style=date_style, timestamp=timestamp)
        resources.append(document)
        focus = [{"reference": f"urn:uuid:{document['id']}"}]
    else:
        focus = [_ref(params)]
    return _message(
        KIND_EVENTS[kind],
        mid,
        {**header_extra, "focus": focus},
        resources,
        source=source,
        destination=_RECEIVER,
        timestamp=timestamp,
    )


def _reply_basis(
    message: dict[str, Any] | VrdrReport,
) -> tuple[str, str, dict[str, Any] | None]:
    """(message id, the sender's endpoint, a copy of its Parameters) of a received message."""
    if isinstance(message, VrdrReport):
        if not message.message_id:
            raise RecordError("not a message: no message id to answer", field="message_id")
        extra: dict[str, Any] = {}
        if message.message_kind == "void":
            extra["block_count"] = message.block_count
        own = _parameters(message, message.message_id, extra)
        own["id"] = _uid(message.message_id, "reply-parameters")
        return message.message_id, message.source_endpoint, own
    header: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    for entry in message.get("entry") or ():
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict):
            continue
        if res.get("resourceType") == "MessageHeader" and header is None:
            header = res
        elif res.get("resourceType") == "Parameters" and params is None:
            params = res
    mid = header.get("id") if header is not None else None
    if not isinstance(mid, str) or not mid:
        raise RecordError("not a message: no message id to answer", field="MessageHeader.id")
    source = header.get("source") if header is not None else None
    endpoint = source.get("endpoint") if isinstance(source, dict) else None
    copied = None
    if params is not None:
        keep = (
            "cert_no",
            "jurisdiction_id",
            "event_year",
            "death_year",
            "state_auxiliary_id",
            "nchs_id",
            "block_count",
        )
        copied = {
            "resourceType": "Parameters",
            "id": _uid(mid, "reply-parameters"),
            "parameter": [
                p
                for p in params.get("parameter") or ()
                if isinstance(p, dict) and p.get("name") in keep
            ],
        }
    return mid, endpoint if isinstance(endpoint, str) else "", copied


def acknowledgement(
    message: dict[str, Any] | VrdrReport,
    *,
    source: str = _RECEIVER,
    destination: str | None = None,
    timestamp: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    """The VRDR acknowledgement of a received message (a bundle or the report read from it).

    Its `MessageHeader.response.identifier` is the original message id; its own id is derived
    from that, so acknowledging a message twice gives the same acknowledgement. It goes to
    the sender's `source.endpoint`. `note` (what a block void voided, say) travels as an
    informational OperationOutcome in `response.details`.
    """
    mid, sender, params = _reply_basis(message)
    resources = [params] if params is not None else []
    header: dict[str, Any] = {"response": {"identifier": mid, "code": "ok"}}
    if params is not None:
        header["focus"] = [_ref(params)]
    if note:
        outcome = {
            "resourceType": "OperationOutcome",
            "id": _uid(mid, "ack-outcome"),
            "issue": [{"severity": "information", "code": "informational", "diagnostics": note}],
        }
        resources.append(outcome)
        header["response"]["details"] = _ref(outcome)
    return _message(
        EVENT_ACKNOWLEDGEMENT,
        _uid(mid, "acknowledgement"),
        header,
        resources,
        source=source,
        destination=destination or sender or "urn:unknown-sender",
        timestamp=timestamp,
    )


def extraction_error(
    message_id: str | dict[str, Any] | VrdrReport,
    problem: str,
    *,
    source: str = _RECEIVER,
    destination: str | None = None,
    timestamp: str | None = None,
) -> dict[str, Any]:
    """The VRDR extraction-error reply naming `problem` (no personal data in it, please).

    `message_id` is the id of the message that could not be read, or the message itself.
    """
    if isinstance(message_id, str):
        mid, sender, params = message_id, "", None
    else:
        mid, sender, params = _reply_basis(message_id)
    if not mid:
        raise RecordError("not a message: no message id to answer", field="message_id")
    outcome = {
        "resourceType": "OperationOutcome",
        "id": _uid(mid, "outcome"),
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": problem}],
    }
    resources: list[dict[str, Any]] = [outcome]
    header: dict[str, Any] = {
        "response": {"identifier": mid, "code": "fatal-error", "details": _ref(outcome)}
    }
    if params is not None:
        resources.insert(0, params)
        header["focus"] = [_ref(params)]
    return _message(
        EVENT_EXTRACTION_ERROR,
        _uid(mid, "extraction-error"),
        header,
        resources,
        source=source,
        destination=destination or sender or "urn:unknown-sender",
        timestamp=timestamp,
    )
