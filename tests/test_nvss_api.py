"""The NVSS API, driven the way the reference client does, on DuckDB and PostgreSQL.

Submit, poll `_since`, resubmit a lost message: the same acknowledgement, never a duplicate
death; batches answered per message; keys scoped to one jurisdiction; replies kept in the
ledger and found again after a restart; bad input is one error shape naming the message.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api_world import LAST, World, build_world, ssn_of
from tests.conftest import BACKENDS
from vitalfile.api import create_app
from vitalfile.db import open_store
from vitalfile.disclosure.access import create_key
from vitalfile.disclosure.nvss import register_jurisdiction
from vitalfile.sources.vrdr import VrdrReport, write_message

FHIR = {"content-type": "application/fhir+json"}
EDRS = "https://edrs.example.ma.gov/nvss"
PUBLISHED = Path(__file__).parent / "fixtures" / "vrdr" / "published"


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    url = (
        str(tmp_path / "api.duckdb")
        if request.param == "duckdb"
        else request.getfixturevalue("pg_url")
    )
    w = build_world(url, tmp_path / "work")
    store = open_store(url)
    try:
        for jur in ("MA", "NY"):
            recipient = register_jurisdiction(store, jur)
            w.keys[jur] = create_key(store, recipient=recipient, label=f"{jur} EDRS")[1]
    finally:
        store.close()
    return w


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings())) as c:
        yield c


def h(world: World, who: str) -> dict[str, str]:
    return {**FHIR, "Authorization": f"Bearer {world.keys[who]}"}


def submission(
    pid: int, cert: int, mid: str, kind: str = "submission", jur: str = "MA"
) -> dict[str, Any]:
    rec = VrdrReport(
        record_id=f"2025{jur}{cert:06d}",
        jurisdiction=jur,
        cert_no=f"{cert:06d}",
        death_year=2025,
        first_name="ANN",
        last_name=LAST[pid],
        ssn=ssn_of(pid),
        dob="1950-01-02",
        dod="2025-01-05",
        sex="F",
        death_state=jur,
    )
    return write_message(rec, kind, message_id=mid, source=EDRS)


def header(bundle: dict[str, Any]) -> dict[str, Any]:
    head: dict[str, Any] = bundle["entry"][0]["resource"]
    return head


def acks(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            header(e["resource"])["eventUri"].rsplit("_", 1)[-1],
            header(e["resource"])["response"]["identifier"],
        )
        for e in page["entry"]
    ]


def deaths(client: TestClient, world: World, pid: int) -> tuple[str, str]:
    st = client.get(
        f"/v1/people/{pid}", headers={"Authorization": f"Bearer {world.keys['reviewer']}"}
    )
    body = st.json()
    return body["status"], body.get("verification", "")


def test_the_reference_client_exchange(world: World, client: TestClient) -> None:
    start = client.get("/MA/Bundle", headers=h(world, "MA")).json()
    assert (
        start["resourceType"] == "Bundle" and start["type"] == "searchset" and start["total"] == 0
    )
    # submit one message: 204, its acknowledgement queued for MA, addressed to the EDRS
    r = client.post(
        "/MA/Bundle", content=json.dumps(submission(6, 1, "m-1")), headers=h(world, "MA")
    )
    assert r.status_code == 204, r.text
    assert deaths(client, world, 6) == ("deceased", "V")
    page = client.get("/MA/Bundle", headers=h(world, "MA")).json()
    assert acks(page) == [("acknowledgement", "m-1")]
    first = page["entry"][0]["resource"]
    assert header(first)["destination"] == [{"endpoint": EDRS}]
    # poll with _since: nothing new
    later = page["timestamp"]
    time.sleep(1.1)
    since = client.get("/MA/Bundle", params={"_since": later}, headers=h(world, "MA")).json()
    assert since["entry"] == []
    # the acknowledgement was lost: the client resends the same message
    r = client.post(
        "/MA/Bundle", content=json.dumps(submission(6, 1, "m-1")), headers=h(world, "MA")
    )
    assert r.status_code == 204
    again = client.get("/MA/Bundle", params={"_since": later}, headers=h(world, "MA")).json()
    assert [e["resource"] for e in again["entry"]] == [first]  # the same acknowledgement
    assert deaths(client, world, 6) == ("deceased", "V")
    pool = client.app.state.pool  # type: ignore[attr-defined]
    with pool.borrow() as store:
        assert store.query("SELECT count(*) FROM deaths WHERE person_id = 6") == [(1,)]
        assert store.query("SELECT count(*) FROM reports WHERE report_key LIKE 'MA/%'") == [(1,)]


def test_batch_per_message_outcome_and_filters(world: World, client: TestClient) -> None:
    bad = submission(5, 3, "m-bad")
    bad["entry"] = [e for e in bad["entry"] if e["resource"]["resourceType"] != "Bundle"]
    ack_of_ours = json.loads((PUBLISHED / "AcknowledgementMessage.json").read_text())
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": submission(6, 2, "b-1")},
            {"resource": bad},
            {"resource": submission(6, 2, "b-1")},
            {"resource": ack_of_ours},
            {"resource": submission(5, 4, "ny-record", jur="NY")},
        ],
    }
    r = client.post("/MA/Bundle", content=json.dumps(batch), headers=h(world, "MA"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "batch-response"
    assert [e["response"]["status"] for e in body["entry"]] == ["201", "400", "200", "201", "400"]
    assert "decedent" in body["entry"][1]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert ssn_of(5) not in r.text and LAST[5] not in r.text
    assert gc.isenabled()  # paused while the batch was taken in, on again after
    queued = client.get("/MA/Bundle", headers=h(world, "MA")).json()
    # one reply each: b-1 acknowledged, the two refused answered; the acknowledgement never
    assert sorted(acks(queued)) == sorted(
        [("acknowledgement", "b-1"), ("error", "m-bad"), ("error", "ny-record")]
    )
    one = client.get(
        "/MA/Bundle", params={"certificateNumber": "2", "deathYear": 2025}, headers=h(world, "MA")
    ).json()
    assert acks(one) == [("acknowledgement", "b-1")]
    paged = client.get("/MA/Bundle", params={"_count": 1, "page": 2}, headers=h(world, "MA")).json()
    assert paged["total"] == 3 and len(paged["entry"]) == 1
    assert [link["relation"] for link in paged["link"]] == ["self", "next"]


def test_keys_are_scoped_to_one_jurisdiction(world: World, client: TestClient) -> None:
    client.post("/MA/Bundle", content=json.dumps(submission(6, 1, "m-1")), headers=h(world, "MA"))
    for method, path in (("POST", "/MA/Bundle"), ("GET", "/MA/Bundle"), ("GET", "/MA/metadata")):
        r = client.request(
            method, path, content=b"{}" if method == "POST" else None, headers=h(world, "NY")
        )
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (method, path)
    assert client.get("/NY/Bundle", headers=h(world, "NY")).json()["total"] == 0
    r = client.get("/MA/Bundle", headers={"Authorization": f"Bearer {world.keys['intake']}"})
    assert r.status_code == 403
    cap = client.get("/MA/metadata", headers=h(world, "MA")).json()
    assert cap["resourceType"] == "CapabilityStatement"
    names = {p["name"] for p in cap["rest"][0]["resource"][0]["searchParam"]}
    assert names == {"_since", "_count", "page", "certificateNumber", "deathYear"}


def test_replies_survive_a_restart(world: World, client: TestClient) -> None:
    client.post("/MA/Bundle", content=json.dumps(submission(6, 1, "m-1")), headers=h(world, "MA"))
    before = client.get("/MA/Bundle", headers=h(world, "MA")).json()["entry"]
    with TestClient(create_app(world.settings())) as fresh:
        after = fresh.get("/MA/Bundle", headers=h(world, "MA")).json()["entry"]
    assert after == before and len(after) == 1


def test_bad_input_is_one_error_shape_naming_the_message(world: World, client: TestClient) -> None:
    bad = submission(5, 3, "m-bad")
    bad["entry"] = [e for e in bad["entry"] if e["resource"]["resourceType"] != "Bundle"]
    r = client.post("/MA/Bundle", content=json.dumps(bad), headers=h(world, "MA"))
    assert r.status_code == 422
    body = r.json()
    assert set(body) == {"code", "message", "context"} and body["context"]["record_id"] == "m-bad"
    # its extraction error is queued all the same (one reply)
    assert acks(client.get("/MA/Bundle", headers=h(world, "MA")).json()) == [("error", "m-bad")]
    for content in (b"not json", b"[]", json.dumps({"resourceType": "Patient"}).encode()):
        r = client.post("/MA/Bundle", content=content, headers=h(world, "MA"))
        assert r.status_code == 422 and set(r.json()) == {"code", "message", "context"}
    r = client.get("/MA/Bundle", params={"_since": "yesterday"}, headers=h(world, "MA"))
    assert r.status_code == 400 and r.json()["context"]["field"] == "_since"
    r = client.get("/XX/Bundle", headers=h(world, "MA"))
    assert r.status_code in (403, 404)
