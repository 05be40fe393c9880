"""Crashes survived, counted: SIGKILL the commands a keeper runs at a random moment, then check
what the ledger kept (issue 17).

Each run kills one of: `ingest` of a large report file, `people load` of a new people file,
`extract full` for a recipient, and `serve` answering verifications under load (a few client
threads on loopback, bounded). The moment is drawn uniformly over the command's own running
time (measured by an uncrashed run of the same size first; for serve, over a load window after
it answers). The commands run as forked copies of one process that imported vitalfile once
(`crash_fork`; `--no-fork`: a new interpreter each), so the moment falls in the command's
work, not in its imports. After each kill:

- `ledger verify` passes (the chain as stored, after the database recovered its log);
- no batch is half written: every commit holds the events it counts, and the command's file
  is either all in or not at all (report.received / person.registered since the run began:
  0 or all; an extract's file is under its name only with its delivery recorded byte for byte
  and its signed sidecar, and a recorded delivery's bytes are on disk, named or waiting);
- every verification answer the client received is in the ledger once, after the service is
  started again (the next run's start, which replays the killed workers' answer journals,
  `ledger/journal.py`; at the end, one more start and a clean stop);
- the killed command run again finishes the work exactly once (no report key, SSN or
  disclosure id twice; one delivery, the recorded one if the kill came after its commit).

Prints one JSON line: runs, kills per command, and the counts lost / half / duplicated.

    python -m bench.crash --db /tmp/crash.duckdb --runs 100
    python -m bench.crash --db postgresql://postgres@127.0.0.1:5432/test --runs 100

A PostgreSQL URL gets a schema of its own (dropped at the end unless --keep).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import vitalfile
from bench.crash_fork import KILL_AT, ForkServer
from vitalfile.db import open_store
from vitalfile.sources.csv import PEOPLE_COLUMNS_WITHOUT_FORMER, REPORT_COLUMNS

COMMANDS = ("ingest", "people", "extract", "serve")
CLI = "import sys; from vitalfile.cli import main; sys.exit(main())"
# A command that SIGKILLs itself at one exact call (`crash_fork.KILL_AT`: argv target, when,
# arg): a kill aimed at a moment a kill from outside hits only by chance, and that the child
# may have passed by the time the parent reads its progress line on a loaded machine.
KILLER = KILL_AT + "kill_at(*sys.argv[1:4])\ndel sys.argv[1:4]\n" + CLI
FIRST = ["ANN", "JOHN", "MARY", "ROBERT", "LINDA", "JAMES", "SUSAN", "DAVID", "KAREN", "PAUL"]
LAST = ["SMITH", "JONES", "BROWN", "GARCIA", "MILLER", "DAVIS", "WILSON", "MOORE", "TAYLOR"]
# the canonical CSV columns, declared once in sources.csv
PEOPLE_HEADER = PEOPLE_COLUMNS_WITHOUT_FORMER
REPORT_HEADER = REPORT_COLUMNS


@dataclass
class Tally:
    runs: Counter[str] = field(default_factory=Counter)
    killed: Counter[str] = field(default_factory=Counter)  # SIGKILL landed before it ended
    verify_failed: int = 0
    lost: int = 0  # reports, people, deliveries or answers the ledger should hold and does not
    half: int = 0  # a commit short of its events, or a command's file partly in
    duplicated: int = 0  # a report key, SSN, delivery or answer recorded twice
    rerun_failed: int = 0
    notes: list[str] = field(default_factory=list)
    answers_received: int = 0
    kill_seconds: dict[str, list[float]] = field(default_factory=dict)

    def problem(self, kind: str, text: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.notes) < 50:
            self.notes.append(text)


# ── data ──────────────────────────────────────────────────────────────────────────────
def ssn_for(area: int, k: int) -> str:
    """A valid SSN: area (1..665, 667..899), then group 01..99 and serial 0001..9999."""
    group, serial = divmod(k, 9999)
    return f"{area:03d}{group + 1:02d}{serial + 1:04d}"


def write_people(path: Path, area: int, n: int, rng: random.Random) -> list[dict[str, str]]:
    rows = []
    for k in range(n):
        rows.append(
            {
                "ssn": ssn_for(area, k),
                "first_name": rng.choice(FIRST),
                "middle_name": "",
                "last_name": rng.choice(LAST),
                "suffix": "",
                "dob": f"{rng.randint(1930, 1990)}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(1, 28):02d}",
                "sex": rng.choice("MF"),
                "birth_state": "NY",
                "address": "",
                "city": "",
                "state": "NY",
                "zip": "",
            }
        )
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, PEOPLE_HEADER)
        w.writeheader()
        w.writerows(rows)
    return rows


def write_reports(
    path: Path, run: int, people: list[dict[str, str]], n: int, rng: random.Random
) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(REPORT_HEADER)
        for k, p in enumerate(rng.sample(people, min(n, len(people)))):
            dod = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            w.writerow(
                [f"c{run}-{k}", "state", "crash-bench", p["ssn"], p["first_name"], "",
                 p["last_name"], "", p["dob"], dod, p["sex"], "NY", "2026-01-01"]
            )  # fmt: skip


# ── the store, read between runs (DuckDB: never while a command holds the file) ──────────
class Db:
    def __init__(self, url: str) -> None:
        self.url = url

    def q(self, sql: str, params: list[Any] | None = None) -> list[Any]:
        s = open_store(self.url)
        try:
            return list(s.query(sql, params or []))
        finally:
            s.close()

    def head(self) -> tuple[int, int]:
        """(commit_no, last seq) of the head; (0, 0) for an empty ledger."""
        rows = self.q("SELECT max(commit_no), max(seq) FROM ledger_events")
        return (int(rows[0][0] or 0), int(rows[0][1] or 0))

    def verify(self) -> list[str]:
        s = open_store(self.url)
        try:
            return list(s.verify().problems)
        finally:
            s.close()

    def half_commits(self, since_commit: int) -> list[int]:
        rows = self.q(
            "SELECT c.commit_no, c.n_events, (SELECT count(*) FROM ledger_events e "
            "WHERE e.commit_no = c.commit_no) FROM ledger_commits c WHERE c.commit_no > ?",
            [since_commit],
        )
        return [int(c) for c, n, k in rows if int(n) != int(k)]

    def count(self, event_type: str, since_seq: int) -> int:
        return int(
            self.q(
                "SELECT count(*) FROM ledger_events WHERE type = ? AND seq > ?",
                [event_type, since_seq],
            )[0][0]
        )


# ── running and killing ───────────────────────────────────────────────────────────────
class Runner:
    """Runs the CLI's commands: each a new interpreter, or with `fork` a forked copy of one
    that imported vitalfile once (`crash_fork`); serve is always a new interpreter."""

    def __init__(self, url: str, work: Path, *, fork: bool = False) -> None:
        self.url = url
        self.work = work
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VITALFILE_")}
        self.env |= {
            "VITALFILE_DB": url,
            "VITALFILE_KEY_PATH": str(work / "keeper.pem"),
            "VITALFILE_LINKER": "rule",
            "VITALFILE_WORK_DIR": str(work / "serve"),
            "PYTHONUNBUFFERED": "1",
            # the commands run the code this bench imports (a worktree's src, not the venv's)
            "PYTHONPATH": str(Path(vitalfile.__file__).resolve().parents[1]),
        }
        self.server = ForkServer(self.env, work) if fork else None

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def _forked(self, args: list[str], killed_ok: bool = True, **how: Any) -> tuple[int, float]:
        """(exit code, seconds) of a forked command; RuntimeError unless it ended well (or,
        with `killed_ok`, by SIGKILL)."""
        assert self.server is not None
        reply = self.server.ask(args, **how)
        rc = int(reply["rc"])
        if reply["timed_out"] or rc not in ((0, -signal.SIGKILL) if killed_ok else (0,)):
            raise RuntimeError(f"{' '.join(args[:2])} failed: {reply['stderr'].strip()[-400:]}")
        return rc, float(reply["seconds"])

    def popen(self, *args: str, code: str = CLI) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", code, *args],
            env=self.env,
            cwd=self.work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: the kill reaches every worker
        )

    def run(self, *args: str, timeout: float = 900) -> float:
        if self.server is not None:
            return self._forked(list(args), killed_ok=False, timeout=timeout)[1]
        t0 = time.perf_counter()
        p = subprocess.run(
            [sys.executable, "-c", CLI, *args],
            env=self.env,
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {p.stderr.strip()[-400:]}")
        return time.perf_counter() - t0

    def kill_after(self, args: list[str], delay: float) -> bool:
        """Start the command, SIGKILL its process group after `delay` s; True if it was
        still running (a real kill), False if it had already finished."""
        if self.server is not None:
            return self._forked(args, delay=delay)[0] == -signal.SIGKILL
        p = self.popen(*args)
        try:
            p.wait(timeout=delay)
            return False
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return True

    def kill_at(self, args: list[str], at: tuple[str, str, str], timeout: float = 900) -> bool:
        """Run the command until it kills itself at `at` = (target, 'before'|'after', arg)
        (see KILLER); True if it did, False if it ended without reaching that call."""
        if self.server is not None:
            return self._forked(args, at=at, timeout=timeout)[0] == -signal.SIGKILL
        p = self.popen(*at, *args, code=KILLER)
        _, err = p.communicate(timeout=timeout)
        if p.returncode not in (0, -signal.SIGKILL):
            raise RuntimeError(f"{' '.join(args[:2])} failed: {err.decode()[-400:]}")
        return p.returncode == -signal.SIGKILL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ── the four commands ─────────────────────────────────────────────────────────────────
class Bench:
    def __init__(self, url: str, work: Path, args: argparse.Namespace) -> None:
        self.db = Db(url)
        self.r = Runner(url, work, fork=getattr(args, "fork", False))
        self.work = work
        self.args = args
        self.rng = random.Random(args.seed)
        self.t = Tally()
        self.calib: dict[str, float] = {}
        # command -> an exact call to kill it at instead of a random moment (Runner.kill_at)
        self.kill_points: dict[str, tuple[str, str, str]] = {}
        self.token = ""
        self.base: list[dict[str, str]] = []
        self.ingest_no = 0
        self.people_no = 0
        self.serve_since: int | None = None  # the ledger's last seq before the first serve run
        self.answers_owed: list[tuple[int, list[str]]] = []  # received, not yet in the ledger
        self.seen_twice: set[str] = set()

    def setup(self, *, calibrate: bool = True) -> None:
        """The world every run starts from (library calls: no kill is aimed here): the
        keeper's key, people on file, a federal recipient with an agreement and an API key."""
        from vitalfile.disclosure.access import create_key
        from vitalfile.disclosure.policy import FIELDS, add_agreement, add_recipient
        from vitalfile.intake.people import load_people_file
        from vitalfile.ledger.checkpoint import init_key

        a = self.args
        init_key(self.work / "keeper.pem")
        self.base = write_people(self.work / "base.csv", 1, a.people, self.rng)
        store = open_store(self.db.url)
        try:
            load_people_file(store, self.work / "base.csv")
            add_recipient(store, "bank", "federal")
            add_agreement(store, "bank-1", "bank", purpose="benefit integrity",
                          authority="42 USC 1306c", fields=list(FIELDS), start="2020-01-01",
                          end="2035-12-31")  # fmt: skip
            self.token = create_key(store, recipient="bank")[1]
        finally:
            store.close()
        wanted = self.args.commands.split(",")
        if calibrate:  # uncrashed runs of each command, of the crashed ones' size: the window
            if "ingest" in wanted:
                self.calib["ingest"] = self.r.run(*self.ingest_args(self.next_reports()))
            if "people" in wanted:
                self.calib["people"] = self.r.run(*self.people_args(self.next_people()))
            if "extract" in wanted:
                self.calib["extract"] = self.r.run(*self.extract_args("calibrate"))

    # files
    def next_reports(self) -> str:
        self.ingest_no += 1
        name = f"reports-{self.ingest_no}.csv"
        write_reports(self.work / name, self.ingest_no, self.base, self.args.reports, self.rng)
        return name

    def next_people(self) -> str:
        self.people_no += 1
        area = 100 + self.people_no  # 101..565 before 666; one area per file
        if area >= 666:
            area += 1
        name = f"people-{self.people_no}.csv"
        write_people(self.work / name, area, self.args.new_people, self.rng)
        return name

    @staticmethod
    def ingest_args(name: str) -> list[str]:
        return ["ingest", name, "--source-kind", "state", "--source-id", "crash-bench"]

    @staticmethod
    def people_args(name: str) -> list[str]:
        return ["people", "load", name]

    def extract_args(self, tag: str) -> list[str]:
        return ["extract", "full", "--recipient", "bank", "--out", str(self.work / f"x-{tag}.dmf")]

    def delay(self, cmd: str) -> float:
        return self.rng.uniform(0.0, self.calib[cmd])

    def after_kill(self, cmd: str, run: int, before: tuple[int, int]) -> None:
        problems = self.db.verify()
        if problems:
            self.t.problem("verify_failed", f"{cmd} run {run}: {problems[0]}")
        for c in self.db.half_commits(before[0]):
            self.t.problem("half", f"{cmd} run {run}: commit {c} short of its events")

    def kill(self, cmd: str, args: list[str]) -> None:
        d = self.delay(cmd)
        self.t.kill_seconds.setdefault(cmd, []).append(round(d, 2))
        at = self.kill_points.get(cmd)
        if self.r.kill_at(args, at) if at else self.r.kill_after(args, d):
            self.t.killed[cmd] += 1

    def rerun(self, cmd: str, run: int, args: list[str]) -> bool:
        try:
            self.r.run(*args)
            return True
        except RuntimeError as exc:
            self.t.problem("rerun_failed", f"{cmd} run {run}: {exc}")
            return False

    # ingest: the file's reports all in or none; run again, each report once
    def crash_ingest(self, run: int) -> None:
        name = self.next_reports()
        n = self.args.reports
        before = self.db.head()
        self.kill("ingest", self.ingest_args(name))
        self.after_kill("ingest", run, before)
        got = self.db.count("report.received", before[1])
        if got not in (0, n):
            self.t.problem("half", f"ingest run {run}: {got} of {n} reports in after the kill")
        if not self.rerun("ingest", run, self.ingest_args(name)):
            return
        self.after_kill("ingest", run, before)
        got = self.db.count("report.received", before[1])
        if got < n:
            self.t.problem("lost", f"ingest run {run}: {n - got} reports missing after re-run")
        elif got > n:
            self.t.problem("duplicated", f"ingest run {run}: {got - n} reports recorded twice")

    # people load: all or none; run again, each SSN once
    def crash_people(self, run: int) -> None:
        name = self.next_people()
        n = self.args.new_people
        area = name  # for the notes
        before = self.db.head()
        self.kill("people", self.people_args(name))
        self.after_kill("people", run, before)
        got = self.db.count("person.registered", before[1])
        if got not in (0, n):
            self.t.problem("half", f"people run {run}: {got} of {n} people in after the kill")
        if not self.rerun("people", run, self.people_args(name)):
            return
        self.after_kill("people", run, before)
        got = self.db.count("person.registered", before[1])
        twice = self.db.q("SELECT count(*) FROM (SELECT ssn FROM persons GROUP BY ssn "
                          "HAVING count(*) > 1) t")[0][0]  # fmt: skip
        if got < n:
            self.t.problem("lost", f"people run {run} ({area}): {n - got} people missing")
        elif got > n or int(twice):
            self.t.problem("duplicated", f"people run {run}: {got - n} extra, {twice} SSNs twice")

    # extract: the file under its name only with its delivery recorded (byte for byte) and
    # its signed sidecar; a delivery recorded before the kill and not yet named waits beside
    # it (`NAME.<id>.part`) and the command run again names it, making no other
    def deliveries_since(self, since_seq: int) -> list[tuple[str, str]]:
        """(delivery id, SHA-256) of each delivery made after `since_seq`."""
        rows = self.db.q(
            "SELECT body FROM ledger_events WHERE type = 'delivery.made' AND seq > ?", [since_seq]
        )
        return [(json.loads(b)["delivery_id"], json.loads(b)["sha256"]) for (b,) in rows]

    def check_extract(
        self, run: int | str, path: Path, made: list[tuple[str, str]], when: str
    ) -> None:
        """What a kill may leave: no file, or the file with its delivery and sidecar; a
        recorded delivery's bytes on disk, named or waiting beside the name."""
        where = f"extract run {run} {when}"
        if len(made) > 1:
            self.t.problem("duplicated", f"{where}: {len(made)} deliveries")
        if not made:
            if path.exists():
                self.t.problem("half", f"{where}: a file under its name with no delivery")
            return
        did, sha = made[0]
        on_disk = path if path.exists() else path.with_name(f"{path.name}.{did}.part")
        if not on_disk.exists() or hashlib.sha256(on_disk.read_bytes()).hexdigest() != sha:
            self.t.problem("lost", f"{where}: the recorded file is not on disk")
        if path.exists():
            sidecar = path.with_name(path.name + ".checkpoint.json")
            signed = json.loads(sidecar.read_text()) if sidecar.exists() else {}
            if signed.get("delivery", {}).get("delivery_id") != did:
                self.t.problem("half", f"{where}: the file named without its signed sidecar")

    def crash_extract(self, run: int) -> None:
        args = self.extract_args(str(run))
        path = Path(args[-1])
        before = self.db.head()
        self.kill("extract", args)
        self.after_kill("extract", run, before)
        made = self.deliveries_since(before[1])
        self.check_extract(run, path, made, "after the kill")
        if path.exists():  # the work was done before the kill landed
            return
        if not self.rerun("extract", run, args):
            return
        self.after_kill("extract", run, before)
        again = self.deliveries_since(before[1])
        if not again or not path.exists():
            self.t.problem("lost", f"extract run {run}: no file delivered after the re-run")
        elif made and again[: len(made)] != made:
            self.t.problem("lost", f"extract run {run}: the recorded delivery is gone")
        self.check_extract(run, path, again, "after re-run")
        if list(path.parent.glob(path.name + ".*.part")):
            self.t.problem("half", f"extract run {run}: a part left after the re-run")

    # serve: every answer a client got is in the ledger, once
    def _serve(self, port: int) -> subprocess.Popen[bytes]:
        workers = "2" if self.r.url.startswith("postgres") else "1"
        return self.r.popen("serve", "--port", str(port), "--workers", workers)

    def _wait_ready(
        self, port: int, p: subprocess.Popen[bytes], got: list[str], timeout: float = 300
    ) -> None:
        end = time.monotonic() + timeout
        body = {"ssn": self.base[0]["ssn"], "last_name": "X", "dob": "1950-01-01"}
        while time.monotonic() < end:
            if p.poll() is not None:
                err = p.stderr.read().decode()[-400:] if p.stderr else ""
                raise RuntimeError(f"serve exited: {err}")
            try:
                r = httpx.post(
                    f"http://127.0.0.1:{port}/v1/verify",
                    json=body,
                    headers={"Authorization": f"Bearer {self.token}"},
                    timeout=5,
                )
                if r.status_code == 200:
                    got.append(r.json()["disclosure_id"])  # an answer received like any other
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("serve did not answer in time")

    def _load(self, port: int, stop: threading.Event, got: list[str]) -> None:
        rng = random.Random(self.rng.random())
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as c:
            while not stop.is_set():
                p = rng.choice(self.base)
                try:
                    r = c.post("/v1/verify", json={"ssn": p["ssn"], "last_name": p["last_name"],
                                                   "dob": p["dob"]})  # fmt: skip
                except httpx.HTTPError:
                    return  # the service is gone: the answers received so far are the count
                if r.status_code == 200:
                    got.append(r.json()["disclosure_id"])

    def crash_serve(self, run: int) -> None:
        """Start the service (which replays what earlier runs' killed workers wrote ahead),
        put it under load, SIGKILL it at a random moment; then every answer received so far
        is in the ledger or in a journal on disk (`check_answers`)."""
        before = self.db.head()
        if self.serve_since is None:
            self.serve_since = before[1]
        port = free_port()
        p = self._serve(port)
        got: list[str] = []
        try:
            self._wait_ready(port, p, got)
        except RuntimeError as exc:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            self.t.problem("rerun_failed", f"serve run {run}: {exc}")
            return
        stop = threading.Event()
        threads = [
            threading.Thread(target=self._load, args=(port, stop, got))
            for _ in range(self.args.clients)
        ]
        for th in threads:
            th.start()
        d = self.rng.uniform(0.0, self.args.serve_window)
        self.t.kill_seconds.setdefault("serve", []).append(round(d, 2))
        time.sleep(d)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        self.t.killed["serve"] += 1
        stop.set()
        for th in threads:
            th.join()
        self.t.answers_received += len(got)
        self.answers_owed.append((run, got))
        self.after_kill("serve", run, before)
        self.check_answers()

    def finish_serve(self) -> None:
        """Start the service once more (it replays the last killed run's journals), stop it
        cleanly, and check the last run's answers."""
        if self.serve_since is None:
            return
        for _ in range(3):  # again while a journal is left (a worker stopped mid-replay)
            self._start_and_stop()
            if not self._journaled():
                break
        self.after_kill("serve", 0, (0, self.serve_since or 0))
        self.check_answers(final=True)

    def _journaled(self) -> set[str]:
        """Disclosure ids written ahead to answer journals still on disk (whole lines: an
        answer is given only after its line is written)."""
        ids: set[str] = set()
        for seg in (self.work / "serve" / "journals").glob("answers-*.journal*"):
            if seg.suffix == ".lock":
                continue
            for line in seg.read_text(encoding="utf-8").split("\n")[:-1]:
                ids.add(json.loads(line.partition("\t")[2])["disclosure_id"])
        return ids

    def _start_and_stop(self) -> None:
        port = free_port()
        p = self._serve(port)
        try:
            self._wait_ready(port, p, [])
        except RuntimeError as exc:
            self.t.problem("rerun_failed", f"serve at the end: {exc}")
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGINT)
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()

    def check_answers(self, *, final: bool = False) -> None:
        """Every answer the killed runs' clients received is in the ledger, or still in an
        answer journal on disk that a later start replays (two workers starting together
        share the replay, and a kill can land while one of them is at it); at the end,
        after a clean start and stop, every one is in the ledger. None is there twice."""
        rows = self.db.q(
            "SELECT body FROM ledger_events WHERE type = 'disclosure.made' AND seq > ?",
            [self.serve_since or 0],
        )
        held = Counter(json.loads(b)["disclosure_id"] for (b,) in rows)
        journaled = set() if final else self._journaled()
        owed = []
        for run, got in self.answers_owed:
            lost = [d for d in got if d not in held and d not in journaled]
            if lost:
                self.t.problem(
                    "lost", f"serve run {run}: {len(lost)} of {len(got)} answers not kept"
                )
                self.t.lost += len(lost) - 1  # count answers, not runs
            waiting = [d for d in got if d not in held and d in journaled]
            if waiting:
                owed.append((run, waiting))
        self.answers_owed = owed
        twice = [d for d, k in held.items() if k > 1 and d not in self.seen_twice]
        self.seen_twice.update(twice)
        if twice:
            self.t.problem("duplicated", f"serve: {len(twice)} answers kept twice")
            self.t.duplicated += len(twice) - 1

    def run(self) -> None:
        cmds = [c for c in COMMANDS if c in self.args.commands.split(",")]
        end = time.monotonic() + 60 * self.args.minutes if self.args.minutes else None
        for run in range(1, self.args.runs + 1):
            if end is not None and time.monotonic() > end:
                self.t.notes.append(f"stopped after {run - 1} runs: --minutes {self.args.minutes}")
                break
            for cmd in cmds:
                self.t.runs[cmd] += 1
                getattr(self, f"crash_{cmd}")(run)
            if self.args.progress:
                print(f"run {run}: killed {dict(self.t.killed)} verify_failed "
                      f"{self.t.verify_failed} lost {self.t.lost} half {self.t.half} dup "
                      f"{self.t.duplicated} rerun_failed {self.t.rerun_failed} answers "
                      f"{self.t.answers_received}", file=sys.stderr, flush=True)  # fmt: skip
        self.finish_serve()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True, help="a DuckDB file (made fresh) or postgresql:// URL")
    ap.add_argument("--runs", type=int, default=100, help="runs of each command")
    ap.add_argument("--people", type=int, default=50_000, help="people on file at the start")
    ap.add_argument("--reports", type=int, default=20_000, help="reports in each ingest file")
    ap.add_argument("--new-people", type=int, default=50_000, help="people in each people file")
    ap.add_argument("--clients", type=int, default=4, help="verification client threads")
    ap.add_argument("--serve-window", type=float, default=3.0, help="seconds of load to kill in")
    ap.add_argument("--commands", default=",".join(COMMANDS), help="which commands to crash")
    ap.add_argument("--minutes", type=float, default=0, help="start no run after this long")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=None, help="folder for files (default: temp)")
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    ap.add_argument(
        "--no-fork",
        dest="fork",
        action="store_false",
        help="each command a new interpreter (default: forked from one that imported vitalfile)",
    )
    ap.add_argument("--progress", action="store_true", help="a line per run on stderr")
    args = ap.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="vf-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    url, schema = args.db, ""
    if url.startswith(("postgresql://", "postgres://")):
        from vitalfile.ledger.postgres import create_schema, with_schema

        schema = create_schema(url, f"vf_crash_{os.getpid()}")
        url = with_schema(url, schema)
        backend = "postgresql"
    else:
        if Path(url).exists():
            raise SystemExit(f"{url} exists: the bench starts from a fresh database")
        backend = "duckdb"
    t0 = time.perf_counter()
    bench = Bench(url, work, args)
    try:
        bench.setup()
        bench.run()
    finally:
        bench.r.close()
        if schema and not args.keep:
            from vitalfile.ledger.postgres import drop_schema

            drop_schema(args.db, schema)
    t = bench.t
    out = {
        "bench": "crash",
        "backend": backend,
        "runs": dict(t.runs),
        "killed": dict(t.killed),
        "calibration_s": {k: round(v, 2) for k, v in bench.calib.items()},
        "sizes": {"people": args.people, "reports": args.reports, "new_people": args.new_people},
        "answers_received": t.answers_received,
        "verify_failed": t.verify_failed,
        "lost": t.lost,
        "half": t.half,
        "duplicated": t.duplicated,
        "rerun_failed": t.rerun_failed,
        "notes": t.notes,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
