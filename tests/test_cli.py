"""The command line: every command has help, bad input gets one line and an exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vitalfile.cli import main
from vitalfile.cli.common import app


def _commands() -> list[list[str]]:
    from vitalfile.cli import _register

    _register()
    import typer.main

    root = typer.main.get_command(app)
    out: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            out.append(path)

    walk(root, [])
    return out


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _commands()
    assert ["ledger", "verify"] in commands and ["demo"] in commands
    for path in commands:
        assert main([*path, "--help"]) == 0, path
        out = capsys.readouterr().out
        assert "Usage" in out and len(out.strip().splitlines()) > 3, path


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALFILE_")}
    env["VITALFILE_DB"] = str(tmp_path / "cli.duckdb")
    env["VITALFILE_KEY_PATH"] = str(tmp_path / "keys" / "k.pem")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from vitalfile.cli import main; sys.exit(main())",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_bad_input_gets_one_line_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "report_id,source_kind,source_id,ssn,first_name,middle_name,last_name,suffix,dob,dod,"
        "sex,death_state,reported_at\n"
        "1,state,TX,123456789,ANN,,DOE,,1940-13-01,2026-01-01,F,TX,\n"
        "2,martian,TX,223456789,BOB,,ROE,,1940-01-01,2026-01-01,M,TX,\n"
    )
    r = _run(tmp_path, "ingest", str(bad))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error[record] bad.csv:2 field dob:")
    assert lines[1].startswith("error[record] bad.csv:3 field source_kind:")
    assert "nothing was written" in lines[-1]
    for secret in ("123456789", "DOE", "ROE", "ANN"):
        assert secret not in r.stderr


def test_missing_file_unknown_ssn_and_bad_options(tmp_path: Path) -> None:
    r = _run(tmp_path, "ingest", str(tmp_path / "nope.csv"))
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = _run(tmp_path, "status", "--ssn", "123-45-6789")
    assert r.returncode == 3 and "123" not in r.stderr.replace("error", "")
    r = _run(tmp_path, "status", "--ssn", "12345")
    assert r.returncode == 2 and "not a 9-digit SSN" in r.stderr
    r = _run(tmp_path, "status", "--ssn", "123456789", "--as-of", "yesterday")
    assert r.returncode == 2 and "as_of" in r.stderr and "not an ISO date" in r.stderr
    r = _run(tmp_path, "ledger", "checkpoint")
    assert r.returncode == 1 and "keys init" in r.stderr


def test_keys_checkpoint_and_verify_round_trip(tmp_path: Path) -> None:
    assert _run(tmp_path, "keys", "init").returncode == 0
    people = tmp_path / "p.csv"
    people.write_text(
        "ssn,first_name,middle_name,last_name,suffix,dob,sex,birth_state,address,city,state,zip\n"
        "123456789,ANN,,DOE,,1940-03-04,F,TX,,,,\n"
    )
    assert _run(tmp_path, "people", "load", str(people)).returncode == 0
    r = _run(tmp_path, "ledger", "checkpoint", "--out", str(tmp_path / "cp.json"))
    assert r.returncode == 0, r.stderr
    r = _run(tmp_path, "ledger", "verify", "--checkpoint", str(tmp_path / "cp.json"))
    assert r.returncode == 0 and "extends the checkpoint" in r.stdout
    r = _run(tmp_path, "status", "--ssn", "123-45-6789", "--json")
    assert r.returncode == 0 and '"status": "alive"' in r.stdout
