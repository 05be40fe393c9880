"""Benchmark: online verification over HTTP — requests per second and p50/p99 latency.

Builds a file of N people (a synthetic DMF full file, loaded set-wise into DuckDB, then
copied to PostgreSQL with `copy_ledger`, hashes kept), registers a certified recipient and
its key, starts `vitalfile serve` (uvicorn, W worker processes) on a free loopback port, and
drives `POST /v1/verify` with C connections for S seconds — Debian's `wrk` when installed,
else an httpx async client (at most R requests) — once per C of `--concurrency 4,6,8`
against the same server. One JSON line per C. Target: ≥ 1,000 req/s with p99 < 50 ms.

    VITALFILE_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/api.py --people 1000000 --workers 4 --concurrency 4,6,8

Works in a fresh PostgreSQL schema, dropped at the end (`--keep` leaves it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from vitalfile.db import open_store
from vitalfile.disclosure.access import create_key
from vitalfile.disclosure.policy import VERIFY_FIELDS, add_agreement, add_recipient
from vitalfile.intake.dmf_load import load_dmf_full
from vitalfile.ledger.copy import copy_ledger
from vitalfile.ledger.postgres import create_schema, drop_schema, with_schema
from vitalfile.synth.dmf import write_dmf_full


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _build(url: str, people: int, work: Path) -> tuple[str, list[dict[str, str]], dict[str, float]]:
    """The file on PostgreSQL, a recipient key, and a sample of people to ask about."""
    steps: dict[str, float] = {}
    t = time.perf_counter()
    write_dmf_full(work / "full.dmf", people, seed=11)
    duck = open_store(str(work / "bench.duckdb"))
    load_dmf_full(duck, work / "full.dmf")
    add_recipient(duck, "bank", "certified")
    add_agreement(
        duck,
        "bank-1",
        "bank",
        purpose="fraud prevention",
        authority="bench",
        fields=list(VERIFY_FIELDS),
        start="2020-01-01",
        end="2099-12-31",
    )
    _, token = create_key(duck, recipient="bank", label="bench")
    sample = duck.query_arrow(
        "SELECT ssn, last_name, dob FROM persons USING SAMPLE 20000 ROWS"
    ).to_pylist()
    steps["load_duckdb_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    with open_store(url) as pg:
        copy_ledger(duck, pg)
    duck.close()
    steps["copy_to_postgres_s"] = round(time.perf_counter() - t, 1)
    return token, [{k: str(v) for k, v in r.items()} for r in sample], steps


async def _drive(
    base: str, token: str, sample: list[dict[str, str]], requests: int, seconds: float, conc: int
) -> tuple[list[float], int, float]:
    lat: list[float] = []
    errors = 0
    rng = random.Random(7)
    deadline = time.perf_counter() + seconds
    issued = 0
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers) as client:

        async def one_worker() -> None:
            nonlocal issued, errors
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                p = rng.choice(sample)
                body = {"ssn": p["ssn"], "last_name": p["last_name"], "dob": p["dob"]}
                t0 = time.perf_counter()
                r = await client.post("/v1/verify", json=body)
                lat.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1

        # warm-up: every worker process opens its connections and caches the key
        for _ in range(conc * 2):
            await client.post("/v1/verify", json={**sample[0]})
        t_all = time.perf_counter()
        await asyncio.gather(*(one_worker() for _ in range(conc)))
        wall = time.perf_counter() - t_all
    return lat, errors, wall


def _wrk(
    base: str, token: str, sample: list[dict[str, str]], seconds: float, conc: int, work: Path
) -> dict[str, float]:
    """Drive the server with Debian's `wrk` (a C load generator: it leaves the CPU to the
    server, where a Python client would take half of it on 2 cores)."""
    bodies = [
        json.dumps({"ssn": p["ssn"], "last_name": p["last_name"], "dob": p["dob"]})
        for p in sample[:5000]
    ]
    lua = work / "verify.lua"
    quoted = ",\n".join("[[" + b + "]]" for b in bodies)
    lua.write_text(
        "local bodies = {\n" + quoted + "\n}\n"
        "local i = 0\n"
        "local headers = {['Content-Type'] = 'application/json', "
        f"['Authorization'] = 'Bearer {token}'}}\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  return wrk.format('POST', '/v1/verify', headers, bodies[(i % #bodies) + 1])\n"
        "end\n"
    )
    # warm-up: every worker opens its connections and caches the key
    subprocess.run(
        ["wrk", "-t1", f"-c{conc}", "-d3s", "-s", str(lua), base],
        capture_output=True,
        text=True,
        check=True,
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conc}", f"-d{int(seconds)}s", "--latency", "-s", str(lua), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    total = re.search(r"(\d+) requests in ([\d.]+)s", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {
        "requests": int(total.group(1)) if total else 0,
        "seconds": float(total.group(2)) if total else 0.0,
        "errors": int(bad.group(1)) if bad else 0,
        "req_per_s": float(rps.group(1)) if rps else 0.0,
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
    }


def _measure(
    args: argparse.Namespace,
    base: str,
    token: str,
    sample: list[dict[str, str]],
    conc: int,
    work: Path,
) -> dict[str, float]:
    if args.client == "wrk":
        return _wrk(base, token, sample, args.seconds, conc, work)
    lat, errors, wall = asyncio.run(_drive(base, token, sample, args.requests, args.seconds, conc))
    lat.sort()
    n = len(lat)
    return {
        "requests": n,
        "errors": errors,
        "seconds": round(wall, 2),
        "req_per_s": round(n / wall, 1) if wall else 0.0,
        "p50_ms": round(lat[n // 2] * 1000, 2) if n else float("nan"),
        "p99_ms": round(lat[min(n - 1, int(n * 0.99))] * 1000, 2) if n else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=30_000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument(
        "--concurrency",
        default="4,6,8",
        help="connections; a comma list measures each in turn against the same server",
    )
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--url", default=os.environ.get("VITALFILE_TEST_PG_URL", ""))
    ap.add_argument("--keep", action="store_true", help="leave the PostgreSQL schema")
    ap.add_argument(
        "--client",
        choices=("wrk", "httpx"),
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator: Debian's wrk (default when installed) or a Python httpx client",
    )
    args = ap.parse_args()
    if not args.url:
        sys.exit("needs PostgreSQL: --url or VITALFILE_TEST_PG_URL")
    schema = create_schema(args.url)
    url = with_schema(args.url, schema)
    runs: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory() as d:
            work = Path(d)
            token, sample, steps = _build(url, args.people, work)
            port = _free_port()
            env = {
                **os.environ,
                "VITALFILE_DB": url,
                "VITALFILE_WORK_DIR": str(work / "service"),
                "VITALFILE_KEY_PATH": str(work / "no-key.pem"),
            }
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sys; from vitalfile.cli import main; sys.exit(main(sys.argv[1:]))",
                    "serve",
                    "--port",
                    str(port),
                    "--workers",
                    str(args.workers),
                ],
                env=env,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                for _ in range(300):
                    try:
                        if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.1)
                for conc in (int(c) for c in str(args.concurrency).split(",") if c.strip()):
                    runs.append(
                        {"concurrency": conc, **_measure(args, base, token, sample, conc, work)}
                    )
            finally:  # before the work directory (the workers' journals) goes
                server.terminate()
                server.wait(timeout=30)
    finally:
        if not args.keep:
            drop_schema(args.url, schema)
    for run in runs:
        print(
            json.dumps(
                {
                    "bench": "api_verify",
                    "backend": "postgresql",
                    "client": args.client,
                    "people": args.people,
                    "workers": args.workers,
                    **run,
                    **steps,
                }
            )
        )


if __name__ == "__main__":
    main()
