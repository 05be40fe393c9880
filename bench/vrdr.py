"""Benchmark: VRDR bundles read per second (with validation of the resources read) vs json.loads.

Builds synthetic DeathCertificateDocument bundles with `write_document`, pads each with the
resources a real certificate also carries (cause-of-death and other observations, family
members, a funeral home: about 35 resources in all) that the reader indexes but does not read,
then times `read_bundle` over N bundle texts, and plain `json.loads` over the same texts (the
floor). With `--ingest N` (default 10,000; 0 skips it) it also times the whole ingest path over
N distinct submission messages padded the same way, on a DuckDB file whose people they match:
read, validate, link, post, one append, and an acknowledgement file per message.
With `--nvss N` (default 1,000; 0 skips it) it times the NVSS API as a state's client uses
it: one `batch` Bundle of N distinct padded submissions POSTed to `/MA/Bundle` (over HTTP
in-process, the app's whole stack: key, body, read, link, post, replies kept in the ledger,
the batch-response), then the GET of the N acknowledgements queued. The service is warm as a
running one is (one message of another record POSTed first: its linker loaded), and the
floor is `json.loads` of the same body in the same run (the collector paused, as the POST
does).
Prints one JSON line.

    .venv/bin/python bench/vrdr.py [--n 100000] [--distinct 1000] [--ingest 10000] [--nvss 1000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from vitalfile.sources.vrdr import (
    VrdrReport,
    format_record_id,
    read_bundle,
    write_document,
    write_message,
)

_FIRST = ["Ann", "Bertil", "Carmen", "Dmitri", "Efua", "Farid", "Grace", "Hiro", "Ines", "Jon"]
_LAST = ["Okafor", "Lindqvist", "Tremblay", "Delgado", "Nguyen", "Smith", "Kowalski", "Haddad"]
_STATES = ["MA", "NY", "TX", "CA", "FL", "NH", "OH", "WA"]


def _report(rng: random.Random, i: int) -> VrdrReport:
    year = rng.randint(2020, 2026)
    state = rng.choice(_STATES)
    cert = f"{i % 999_999 + 1:06d}"
    day = rng.choice(["00", f"{rng.randint(1, 28):02d}", f"{rng.randint(1, 28):02d}"])
    ssn = f"{rng.randint(1, 665):03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
    return VrdrReport(
        record_id=format_record_id(year, state, cert),
        jurisdiction=state,
        cert_no=cert,
        death_year=year,
        first_name=rng.choice(_FIRST),
        middle_name=rng.choice(["", "Marie", "Lee"]),
        last_name=rng.choice(_LAST),
        suffix=rng.choice(["", "", "", "Jr"]),
        aliases=(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",) if rng.random() < 0.3 else (),
        ssn=ssn,
        dob=f"{rng.randint(1920, 1990)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        dod=f"{year}-{rng.randint(1, 12):02d}-{day}" if day != "00" else f"{year}-03-00",
        sex=rng.choice(["M", "F"]),
        death_state=state,
        certifier=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
    )


def _padding(rng: random.Random, patient_ref: str, i: int) -> list[dict[str, Any]]:
    """Resources a real certificate carries that the reader does not read."""
    out: list[dict[str, Any]] = []
    for k in range(22):
        out.append(
            {
                "fullUrl": f"urn:uuid:pad-{i}-{k}",
                "resource": {
                    "resourceType": "Observation",
                    "id": f"pad-{i}-{k}",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "69453-9"}]},
                    "subject": {"reference": patient_ref},
                    "valueCodeableConcept": {"text": rng.choice(["Cardiac arrest", "Sepsis"])},
                    "component": [
                        {
                            "code": {"coding": [{"code": "lineNumber"}]},
                            "valueInteger": k,
                        }
                    ],
                },
            }
        )
    for k, role in enumerate(("FTH", "MTH", "SPS")):
        out.append(
            {
                "fullUrl": f"urn:uuid:rel-{i}-{k}",
                "resource": {
                    "resourceType": "RelatedPerson",
                    "id": f"rel-{i}-{k}",
                    "patient": {"reference": patient_ref},
                    "relationship": [{"coding": [{"code": role}]}],
                    "name": [{"family": rng.choice(_LAST), "given": [rng.choice(_FIRST)]}],
                },
            }
        )
    for k in range(4):
        out.append(
            {
                "fullUrl": f"urn:uuid:org-{i}-{k}",
                "resource": {
                    "resourceType": "Organization",
                    "id": f"org-{i}-{k}",
                    "name": "Funeral Home",
                    "address": [{"line": ["1 Main St"], "city": "Town", "state": "MA"}],
                },
            }
        )
    return out


def build(distinct: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts: list[str] = []
    for i in range(distinct):
        doc = write_document(_report(rng, i), date_style="new", timestamp="2026-01-01T00:00:00Z")
        patient_ref = next(
            e["fullUrl"] for e in doc["entry"] if e["resource"]["resourceType"] == "Patient"
        )
        doc["entry"].extend(_padding(rng, patient_ref, i))
        texts.append(json.dumps(doc))
    return texts


def ingest_rate(n: int, seed: int = 11) -> dict[str, Any]:
    """Seconds and bundles/s of `ingest_vrdr_file` over n distinct submission messages."""
    from vitalfile.db import open_store
    from vitalfile.events import PersonRegistered
    from vitalfile.intake.vrdr import ingest_vrdr_file

    rng = random.Random(seed)
    reports = [_report(rng, i) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = work / "messages.ndjson"
        with path.open("w", encoding="utf-8") as fh:
            for i, rep in enumerate(reports):
                message = write_message(
                    rep, "submission", message_id=f"m{i}", timestamp="2026-01-01T00:00:00Z"
                )
                document = message["entry"][-1]["resource"]
                patient_ref = next(
                    e["fullUrl"]
                    for e in document["entry"]
                    if e["resource"]["resourceType"] == "Patient"
                )
                document["entry"].extend(_padding(rng, patient_ref, i))
                fh.write(json.dumps(message) + "\n")
        store = open_store(str(work / "bench.duckdb"))
        try:
            store.append(
                [
                    PersonRegistered(
                        person_id=i + 1,
                        ssn=r.ssn,
                        first_name=r.first_name,
                        last_name=r.last_name,
                        suffix=r.suffix,  # a Jr on the record and none on file: held
                        dob=r.dob,
                    )
                    for i, r in enumerate(reports)
                ]
            )
            t0 = time.perf_counter()
            result = ingest_vrdr_file(store, path, ack_dir=work / "outbox")
            spent = time.perf_counter() - t0
        finally:
            store.close()
    return {
        "ingest_bundles": n,
        "ingest_seconds": round(spent, 2),
        "ingest_bundles_per_s": round(n / spent, 1),
        "ingest_posted_v": result.posted_v,
        "ingest_acks": result.acks,
    }


def _padded_messages(n: int, rng: random.Random) -> tuple[list[VrdrReport], list[dict[str, Any]]]:
    """n distinct submission messages (MA), each padded as a real certificate is."""
    reports = [replace(_report(rng, i + 1), jurisdiction="MA") for i in range(n)]
    reports = [
        replace(r, record_id=format_record_id(r.death_year, "MA", r.cert_no)) for r in reports
    ]
    messages = []
    for i, rep in enumerate(reports):
        message = write_message(
            rep,
            "submission",
            message_id=f"m{i}",
            source="https://edrs.example.ma.gov/nvss",
            timestamp="2026-01-01T00:00:00Z",
        )
        document = message["entry"][-1]["resource"]
        patient_ref = next(
            e["fullUrl"] for e in document["entry"] if e["resource"]["resourceType"] == "Patient"
        )
        document["entry"].extend(_padding(rng, patient_ref, i))
        messages.append(message)
    return reports, messages


def nvss_rate(n: int, seed: int = 13) -> dict[str, Any]:
    """Seconds and messages/s of one batch POST of n submissions to the NVSS API, and its GET."""
    from fastapi.testclient import TestClient

    from vitalfile.api import create_app
    from vitalfile.api.settings import ApiSettings
    from vitalfile.db import open_store
    from vitalfile.disclosure.access import create_key
    from vitalfile.disclosure.nvss import register_jurisdiction
    from vitalfile.events import PersonRegistered

    rng = random.Random(seed)
    reports, messages = _padded_messages(n + 1, rng)
    warm, reports, messages = messages[-1], reports[:n], messages[:n]
    body = json.dumps(
        {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": m} for m in messages]}
    ).encode()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = str(work / "nvss.duckdb")
        store = open_store(url)
        try:
            store.append(
                [
                    PersonRegistered(
                        person_id=i + 1,
                        ssn=r.ssn,
                        first_name=r.first_name,
                        last_name=r.last_name,
                        suffix=r.suffix,  # a Jr on the record and none on file: held
                        dob=r.dob,
                    )
                    for i, r in enumerate(reports)
                ]
            )
            token = create_key(store, recipient=register_jurisdiction(store, "MA"))[1]
        finally:
            store.close()
        settings = ApiSettings(
            db=url, work_dir=work, key_path=work / "keeper.pem", max_upload_bytes=len(body) + 1
        )
        headers = {"Authorization": f"Bearer {token}", "content-type": "application/fhir+json"}
        with TestClient(create_app(settings)) as client:
            client.get("/MA/metadata", headers=headers)  # the key looked up, the store opened
            client.post("/MA/Bundle", content=json.dumps(warm).encode(), headers=headers)
            gc.disable()  # as the POST parses it (a batch pauses the collector)
            t0 = time.perf_counter()
            json.loads(body)
            floor = time.perf_counter() - t0
            gc.enable()
            load = os.getloadavg()[0]
            c0, t0 = time.process_time(), time.perf_counter()
            r = client.post("/MA/Bundle", content=body, headers=headers)
            spent = time.perf_counter() - t0
            cpu = time.process_time() - c0
            assert r.status_code == 200, r.text[:300]
            statuses = [e["response"]["status"] for e in r.json()["entry"]]
            t0 = time.perf_counter()
            page = client.get("/MA/Bundle", params={"_count": n}, headers=headers).json()
            polled = time.perf_counter() - t0
        store = open_store(url)
        try:
            ((posted,),) = store.query("SELECT count(*) FROM deaths WHERE proof = 'V'")
        finally:
            store.close()
    return {
        "nvss_batch": n,
        "nvss_bytes": len(body),
        "nvss_post_seconds": round(spent, 3),
        "nvss_post_cpu_seconds": round(cpu, 3),
        "load_average_1m": round(load, 1),
        "nvss_messages_per_s": round(n / spent, 1),
        "nvss_messages_per_cpu_s": round(n / cpu, 1),
        "nvss_json_loads_seconds": round(floor, 3),
        "nvss_times_floor": round(spent / floor, 2),
        "nvss_taken": statuses.count("201"),
        "nvss_acks_polled": len(page["entry"]),
        "nvss_posted_v": int(posted),
        "nvss_get_seconds": round(polled, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="bundles to read")
    parser.add_argument("--distinct", type=int, default=1000, help="distinct bundles, cycled")
    parser.add_argument(
        "--ingest", type=int, default=10_000, help="bundles through the whole ingest (0: skip)"
    )
    parser.add_argument(
        "--nvss", type=int, default=1000, help="submissions in one NVSS API batch (0: skip)"
    )
    args = parser.parse_args()
    pool = build(args.distinct)
    texts = [pool[i % len(pool)] for i in range(args.n)]
    resources = len(json.loads(pool[0])["entry"])

    t0 = time.perf_counter()
    for text in texts:
        json.loads(text)
    floor = time.perf_counter() - t0

    t0 = time.perf_counter()
    warned = 0
    for text in texts:
        if read_bundle(text).warnings:
            warned += 1
    spent = time.perf_counter() - t0
    ingest = ingest_rate(args.ingest) if args.ingest > 0 else {}
    nvss = nvss_rate(args.nvss) if args.nvss > 0 else {}

    print(
        json.dumps(
            {
                "bench": "vrdr.read_bundle",
                "bundles": args.n,
                "resources_per_bundle": resources,
                "bytes_per_bundle": sum(map(len, pool)) // len(pool),
                "bundles_per_s": round(args.n / spent, 1),
                "json_loads_per_s": round(args.n / floor, 1),
                "times_floor": round(spent / floor, 2),
                "with_warnings": warned,
                **ingest,
                **nvss,
            }
        )
    )


if __name__ == "__main__":
    main()
