"""Running the service: health and readiness, metrics, the key checked before the body,
keys that expire, JSON log lines with a request id and no personal data (issue 17).

Runs on DuckDB and, when VITALFILE_TEST_PG_URL is set, on PostgreSQL; one test serves with
two uvicorn workers on PostgreSQL and sums their counts through one scrape.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api_world import LAST, World, build_world, ssn_of
from vitalfile.api import create_app
from vitalfile.db import open_store
from vitalfile.disclosure.access import create_key, parse_expiry
from vitalfile.errors import UsageError
from vitalfile.ledger.checkpoint import init_key, load_private_key
from vitalfile.ledger.verify import checkpoint_now
from vitalfile.logs import configure

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    url = (
        str(tmp_path / "ops.duckdb")
        if request.param == "duckdb"
        else request.getfixturevalue("pg_url")
    )
    w = build_world(url, tmp_path / "work")
    init_key(tmp_path / "keeper.pem")
    with open_store(url) as store:
        w.keys["metrics"] = create_key(store, role="metrics", label="prometheus")[1]
    return w


def settings_of(world: World, tmp_path: Path, **kw: Any) -> Any:
    return world.settings(key_path=tmp_path / "keeper.pem", **kw)


@pytest.fixture
def client(world: World, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_of(world, tmp_path))) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ── health and readiness ───────────────────────────────────────────────────────────────
def test_health_and_readiness_need_no_key_and_say_nothing_else(
    world: World, client: TestClient
) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"ok": True}
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "ok": True,
        "checks": {"database": True, "schema": True, "journal": True, "signing_key": True},
    }
    assert r.headers["x-request-id"]


def test_not_ready_without_the_signing_key_or_a_table(world: World, tmp_path: Path) -> None:
    settings = world.settings(key_path=tmp_path / "absent.pem")
    with TestClient(create_app(settings)) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"] == {
            "database": True,
            "schema": True,
            "journal": True,
            "signing_key": False,
        }
        with c.app.state.pool.borrow() as store:  # type: ignore[attr-defined]
            store.reader().execute("DROP TABLE requests")
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["schema"] is False
        assert r.json()["checks"]["database"] is True


def test_not_ready_without_a_database_or_a_writable_journal(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    init_key(tmp_path / "k.pem")
    world = World(str(blocker / "x.duckdb"), blocker / "work")
    with TestClient(create_app(world.settings(key_path=tmp_path / "k.pem"))) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json() == {
            "ok": False,
            "checks": {"database": False, "schema": False, "journal": False, "signing_key": True},
        }
        assert c.get("/healthz").status_code == 200


# ── metrics ────────────────────────────────────────────────────────────────────────────
def samples(text: str, name: str) -> dict[str, float]:
    """`{labels: value}` of one metric in Prometheus text."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(\{{.*\}})? (\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def test_metrics_for_a_scrape_key_only_and_without_personal_data(
    world: World, client: TestClient, tmp_path: Path
) -> None:
    sup, scraper = bearer(world.keys["supervisor"]), bearer(world.keys["metrics"])
    # counts are per process: this test reads what it added
    before = samples(client.get("/metrics", headers=scraper).text, "vitalfile_http_requests_total")
    before_n = samples(
        client.get("/metrics", headers=scraper).text,
        "vitalfile_http_request_duration_seconds_count",
    )
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer(world.keys["bank"])).status_code == 403
    assert client.get("/metrics", headers=bearer(world.keys["intake"])).status_code == 403
    # the metrics key opens nothing else
    assert client.get("/v1/cases", headers=scraper).status_code == 403
    for _ in range(3):
        assert client.get("/v1/people/2", headers=sup).status_code == 200
    assert client.get("/v1/people/999", headers=sup).status_code == 404
    body = {"ssn": ssn_of(3), "last_name": LAST[3], "dob": "1950-01-02"}
    assert (
        client.post("/v1/verify", json=body, headers=bearer(world.keys["fed"])).status_code == 200
    )
    csv = "report_id,source_kind,source_id,ssn,first_name,middle_name,last_name,suffix,dob,dod,"
    csv += "sex,death_state,reported_at\n"
    csv += f"x9,family,fam,{ssn_of(5)},ANN,,{LAST[5]},,1950-01-02,2025-01-01,F,IL,2025-01-02\n"
    r = client.post(
        "/v1/reports?source_kind=family&source_id=fam",
        content=csv.encode(),
        headers={**bearer(world.keys["intake"]), "content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    # a checkpoint published where the service looks
    folder = tmp_path / "work" / "checkpoints"
    folder.mkdir(parents=True)
    with _held(client) as s:
        cp = checkpoint_now(s, load_private_key(tmp_path / "keeper.pem"))
    (folder / f"checkpoint-{cp.commit_no}.json").write_text(cp.to_json())
    client.get("/nowhere/123456789")

    r = client.get("/metrics", headers=scraper)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    after = samples(text, "vitalfile_http_requests_total")
    requests = {k: v - before.get(k, 0) for k, v in after.items()}
    people = '{method="GET",route="/v1/people/{person_id}",status="200"}'
    assert requests[people] == 3
    assert requests['{method="GET",route="/v1/people/{person_id}",status="404"}'] == 1
    assert requests['{method="GET",route="unmatched",status="404"}'] == 1
    assert requests['{method="GET",route="/metrics",status="403"}'] == 2
    latency = samples(text, "vitalfile_http_request_duration_seconds_count")
    assert latency[people] - before_n.get(people, 0) == 3
    assert samples(text, "vitalfile_database_up") == {"": 1.0}
    assert samples(text, "vitalfile_cases_open")['{kind="review"}'] >= 1
    assert "vitalfile_cases_overdue" in text
    assert "vitalfile_corrections_pending" in text
    ingest = samples(text, "vitalfile_last_ingest_events")
    assert ingest['{type="report.received"}'] == 1
    assert samples(text, "vitalfile_checkpoint_commit") == {"": float(cp.commit_no)}
    assert 0 <= samples(text, "vitalfile_checkpoint_age_seconds")[""] < 600
    if world.url.startswith("postgresql"):
        assert samples(text, "vitalfile_journal_answers_written_total")[""] >= 1
        assert "vitalfile_journal_pending_answers" in text
    # no path, SSN, name or address in any label or value
    assert "/v1/people/2" not in text and "123456789" not in text
    for pid, last in LAST.items():
        assert ssn_of(pid) not in text and last not in text
    assert "MAIN ST" not in text and "SPRINGFIELD" not in text
    # a staff reader of metrics may scrape too
    assert client.get("/metrics", headers=sup).status_code == 200


class _held:
    """The app's own store (DuckDB lends one connection per process)."""

    def __init__(self, client: TestClient) -> None:
        self.pool = client.app.state.pool  # type: ignore[attr-defined]

    def __enter__(self) -> Any:
        self.store = self.pool.take()
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.pool.give_back(self.store)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.postgres
def test_metrics_add_up_over_several_workers(pg_url: str, tmp_path: Path) -> None:
    world = build_world(pg_url, tmp_path / "work")
    init_key(tmp_path / "keeper.pem")
    port = _free_port()
    env = {
        **os.environ,
        "VITALFILE_DB": pg_url,
        "VITALFILE_KEY_PATH": str(tmp_path / "keeper.pem"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [sys.executable, "-c", "from vitalfile.cli import run; run()"]
    cmd += ["serve", "--workers", "2", "--port", str(port)]
    cmd += ["--work-dir", str(tmp_path / "work"), "--log-format", "json", "--access-log"]
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # a loaded 2-core machine starts workers slowly
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.3)
        n = 60
        body = {"ssn": ssn_of(3), "last_name": LAST[3], "dob": "1950-01-02"}
        fed = bearer(world.keys["fed"])

        def call(_: int) -> int:
            with httpx.Client(base_url=base, timeout=10) as c:  # a connection each: any worker
                return c.post("/v1/verify", json=body, headers=fed).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(call, range(n))) == {200}
        sup = bearer(world.keys["supervisor"])
        route = '{method="POST",route="/v1/verify",status="200"}'
        for _ in range(3):  # whichever worker answers the scrape, the sum is the same
            text = httpx.get(base + "/metrics", headers=sup, timeout=10).text
            assert samples(text, "vitalfile_http_requests_total")[route] == n
            assert samples(text, "vitalfile_http_request_duration_seconds_count")[route] == n
        text = httpx.get(base + "/metrics", headers=sup, timeout=10).text
        assert samples(text, "vitalfile_journal_answers_written_total")[""] == n
        assert "vitalfile_journal_pending_answers" in text  # the lag: ahead, not committed
        committed = samples(text, "vitalfile_journal_answers_committed_total").get("", 0)
        deadline = time.monotonic() + 30  # the journals commit every half second
        while committed < n and time.monotonic() < deadline:
            time.sleep(0.5)
            text = httpx.get(base + "/metrics", headers=sup, timeout=10).text
            committed = samples(text, "vitalfile_journal_answers_committed_total").get("", 0)
        assert committed == n
        assert samples(text, "vitalfile_journal_pending_answers")[""] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    pids = set()
    for line in (tmp_path / "serve.log").read_text().splitlines():
        doc = json.loads(line)  # every line is a JSON object
        if doc.get("route") == "/v1/verify":
            pids.add(doc["pid"])
            assert doc["request_id"]
    assert len(pids) == 2, "both workers answered (the sums above add both)"


# ── the key before the body; keys that expire ──────────────────────────────────────────
def _post_routes(client: TestClient) -> list[str]:
    spec = client.get("/openapi.json").json()
    return [
        re.sub(r"\{[^}]+\}", "DT-0000000000000000", p.replace("{jurisdiction}", "MA"))
        for p, ops in spec["paths"].items()
        if "post" in ops
    ]


def test_no_key_no_body_read(world: World, client: TestClient) -> None:
    posts = _post_routes(client)
    assert len(posts) >= 17
    for path in posts:
        for headers in ({}, bearer("vf_wrong"), {"Authorization": "Basic eDp5"}):
            r = client.post(
                path,
                content=b'{"ssn": "12',
                headers={**headers, "content-type": "application/json"},
            )
            assert r.status_code == 401, (path, r.status_code, r.text)
            assert r.json()["code"] == "unauthenticated"
            assert "ssn" not in r.text
    # at the ASGI level: the request's body is never asked for
    app = client.app
    asked: list[str] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        asked.append("body")
        return {"type": "http.request", "body": b"{", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    for path in posts:
        asked.clear()
        sent.clear()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1")],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
            "state": {},
        }
        asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
        assert sent[0]["status"] == 401 and not asked, path


def test_keys_expire(world: World, client: TestClient, tmp_path: Path) -> None:
    assert parse_expiry("") == ""
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert parse_expiry("30d", now=now) == "2026-05-31T12:00:00Z"
    assert parse_expiry("2026-06-30", now=now) == "2026-07-01T00:00:00Z"
    for bad in ("2020-01-01", "soon", "-3d"):
        with pytest.raises(UsageError):
            parse_expiry(bad, now=now)
    sup = bearer(world.keys["supervisor"])
    r = client.post("/v1/api-keys", json={"role": "auditor", "expires": "90d"}, headers=sup)
    assert r.status_code == 201 and r.json()["expires"].endswith("Z")
    r = client.post("/v1/api-keys", json={"role": "auditor", "expires": "2001-01-01"}, headers=sup)
    assert r.status_code == 400 and r.json()["context"]["field"] == "expires"
    soon = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = client.post("/v1/api-keys", json={"role": "auditor", "expires": soon}, headers=sup)
    token = r.json()["token"]
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200  # now cached
    time.sleep(2.2)
    r = client.get("/v1/me", headers=bearer(token))
    assert r.status_code == 401 and "expired" in r.json()["message"]
    client.app.state.key_cache._items.clear()  # type: ignore[attr-defined]
    assert client.get("/v1/me", headers=bearer(token)).status_code == 401
    listed = client.get("/v1/api-keys", headers=sup).json()
    assert soon in {k["expires"] for k in listed}


def test_apikey_create_expires_on_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vitalfile.cli import main

    db = str(tmp_path / "k.duckdb")
    assert (
        main(["--db", db, "apikey", "create", "--role", "auditor", "--expires", "30d", "--json"])
        == 0
    )
    made = json.loads(capsys.readouterr().out)
    assert made["expires"] > datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert main(["--db", db, "apikey", "list"]) == 0
    assert f"expires {made['expires']}" in capsys.readouterr().out
    assert (
        main(["--db", db, "apikey", "create", "--role", "auditor", "--expires", "2001-01-01"]) == 2
    )


# ── logs ───────────────────────────────────────────────────────────────────────────────
def test_json_logs_carry_request_ids_and_no_personal_data(tmp_path: Path) -> None:
    """A scripted API session over a synthetic population, logged at DEBUG as JSON lines:
    no SSN, name or address of anyone in the population appears in any line."""
    import csv

    from vitalfile.cli import main

    synth = tmp_path / "synth"
    assert main(["synth", "--out", str(synth), "--people", "300", "--months", "1"]) == 0
    db = str(tmp_path / "logs.duckdb")
    people = list(csv.DictReader((synth / "people.csv").open()))
    assert main(["--db", db, "people", "load", str(synth / "people.csv")]) == 0
    with open_store(db) as store:
        from vitalfile.disclosure.policy import FIELDS, add_agreement, add_recipient

        add_recipient(store, "fed", "federal", "FED")
        add_agreement(
            store,
            "fed-1",
            "fed",
            purpose="benefit integrity",
            authority="42 USC 1306c",
            fields=list(FIELDS),
            start="2019-01-01",
            end="2099-12-31",
        )
        keys = {
            "fed": create_key(store, recipient="fed")[1],
            "intake": create_key(store, role="intake")[1],
            "reviewer": create_key(store, role="reviewer")[1],
            "supervisor": create_key(store, role="supervisor")[1],
        }
    init_key(tmp_path / "keeper.pem")
    buf = io.StringIO()
    root = logging.getLogger()
    old_level = root.level
    configure("DEBUG", "json", stream=buf)
    try:
        world = World(db, tmp_path / "work")
        with TestClient(create_app(world.settings(key_path=tmp_path / "keeper.pem"))) as c:
            r = c.post(
                "/v1/reports?source_kind=state&source_id=st",
                content=(synth / "reports.csv").read_bytes(),
                headers={**bearer(keys["intake"]), "content-type": "text/csv"},
            )
            assert r.status_code in (200, 422), r.text
            for p in people[:40]:
                body = {"ssn": p["ssn"], "last_name": p["last_name"], "dob": p["dob"]}
                c.post("/v1/verify", json=body, headers=bearer(keys["fed"]))
                c.post(
                    "/v1/people/lookup", json={"ssn": p["ssn"]}, headers=bearer(keys["reviewer"])
                )
            bad = {"ssn": people[0]["ssn"], "last_name": people[0]["last_name"], "dob": "nope"}
            assert c.post("/v1/verify", json=bad, headers=bearer(keys["fed"])).status_code == 422
            c.post("/v1/verify", json=bad)  # no key
            c.get("/v1/cases", headers=bearer(keys["reviewer"]))
            c.post("/v1/extracts", json={"kind": "full"}, headers=bearer(keys["fed"]))
            c.get("/metrics", headers=bearer(keys["supervisor"]))
            c.get("/readyz")
            r = c.get("/v1/me", headers={**bearer(keys["fed"]), "X-Request-ID": "trace-42"})
            assert r.headers["x-request-id"] == "trace-42"
    finally:
        configure(logging.getLevelName(old_level) if old_level else "WARNING", "text")
    lines = buf.getvalue().splitlines()
    assert len(lines) > 80
    docs = [json.loads(line) for line in lines]  # every line is one JSON object
    requests = [d for d in docs if d["logger"] == "vitalfile.api.requests"]
    assert len(requests) >= 80
    assert all(d["request_id"] for d in requests)
    assert len({d["request_id"] for d in requests}) == len(requests)  # one per request
    assert any(d["request_id"] == "trace-42" for d in requests)
    assert {d["route"] for d in requests} >= {"/v1/verify", "/v1/people/lookup", "/v1/reports"}
    text = buf.getvalue().upper()
    tokens = set(re.findall(r"[A-Z0-9]+", text))
    for p in people:
        digits = p["ssn"].replace("-", "")
        assert digits not in text and p["ssn"] not in text
        assert p["last_name"].upper() not in tokens, p["last_name"]
        assert p["first_name"].upper() not in tokens, p["first_name"]
        if p["address"]:
            assert p["address"].upper() not in text


def test_the_demo_at_debug_logs_no_personal_data(tmp_path: Path) -> None:
    """`vitalfile demo` (synthesise, load, ingest with the trained model, extract, sign) at
    DEBUG, in JSON lines: no SSN, name or address of its population in any line."""
    import csv

    from rich.console import Console

    from vitalfile.cli.demo import run_demo

    buf, said = io.StringIO(), io.StringIO()
    configure("DEBUG", "json", stream=buf)
    try:
        run_demo(tmp_path / "demo", people=3000, console=Console(file=said, width=200))
    finally:
        configure("WARNING", "text")
    people = list(csv.DictReader((tmp_path / "demo" / "synth" / "people.csv").open()))
    assert len(people) == 3000
    for line in buf.getvalue().splitlines():
        json.loads(line)
    # what the demo prints names its own examples ("a report for MARY"), never a person's
    # SSN, address or (longer) surname from its population
    printed = said.getvalue().upper()
    printed_words = set(re.findall(r"[A-Z0-9]+", printed))
    for p in people:
        assert p["ssn"].replace("-", "") not in printed and p["ssn"] not in printed
        assert len(p["last_name"]) < 6 or p["last_name"].upper() not in printed_words
        assert not p["address"] or p["address"].upper() not in printed
    text = buf.getvalue().upper()
    tokens = set(re.findall(r"[A-Z0-9]+", text))
    for p in people:
        assert p["ssn"].replace("-", "") not in text
        assert p["last_name"].upper() not in tokens and p["first_name"].upper() not in tokens
        if p["address"]:
            assert p["address"].upper() not in text


def test_a_backup_through_the_service(world: World, client: TestClient, tmp_path: Path) -> None:
    """On DuckDB the service holds the file: it takes the backup itself (supervisors)."""
    from vitalfile.ledger.backup import restore

    assert client.post("/v1/backups").status_code == 401
    assert client.post("/v1/backups", headers=bearer(world.keys["reviewer"])).status_code == 403
    r = client.post("/v1/backups", headers=bearer(world.keys["supervisor"]))
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["signed"] is True and made["commits"] >= 1
    folder = tmp_path / "work" / "backups" / made["name"]
    with open_store(str(tmp_path / "restored.duckdb")) as target:
        restored = restore(folder, target)
        assert restored.head is not None and restored.head.hash == made["head_hash"]
        assert target.verify().ok
