"""Run CLI commands as forked copies of one process that imported vitalfile once, for
`bench/crash.py`: on the shared 2-core machine a fresh interpreter spent 8-15 s importing
vitalfile before each command did any work, so most random kills landed in imports and a
hundred runs of each command took hours.

The server (`python -c SERVER`, started with the commands' environment) reads one JSON
request a line: `args` for `vitalfile.cli.main`, `env`, `cwd`, the file for the command's
stderr, and either `delay` (SIGKILL its process group that many seconds after the fork, unless
it ended first), `at` (the command kills itself at one exact call, as `crash.KILLER` does), or
neither (run to the end, `timeout` at most). The child is a new session, with the request's
environment and folder, stdout to /dev/null: the same entry point and code a user's command
runs, with its imports already done. The reply: exit code (negative: the signal), seconds
from fork to exit, and the end of its stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

# The command kills itself at one exact call: `module:Owner.attr`, before or after it, when
# one of its arguments is `arg` (any call if `arg` is ''). Shared with `crash.KILLER`.
KILL_AT = r"""import importlib, os, signal, sys


def kill_at(target, when, arg):
    module, _, qual = target.partition(":")
    owner = importlib.import_module(module)
    *path, name = qual.split(".")
    for part in path:
        owner = getattr(owner, part)
    real = getattr(owner, name)

    def killed(*args, **kwargs):
        hit = not arg or arg in [str(a) for a in args]
        if hit and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        out = real(*args, **kwargs)
        if hit:
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    setattr(owner, name, killed)


"""

SERVER = (
    KILL_AT
    + r"""
import json, select, time, traceback
from vitalfile.cli import main


def child(req):
    os.setsid()
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    null = os.open(os.devnull, os.O_RDWR)
    err = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(err, 2)
    code = 1
    try:
        if req.get("at"):
            kill_at(*req["at"])
        code = main(req["args"]) or 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


for line in sys.stdin:
    req = json.loads(line)
    sys.stdout.flush()
    sys.stderr.flush()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        child(req)
    fd = os.pidfd_open(pid)
    limit = req["delay"] if req.get("delay") is not None else req.get("timeout", 900)
    ready, _, _ = select.select([fd], [], [], limit)
    if not ready:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    seconds = time.perf_counter() - t0
    try:
        with open(req["stderr"], "rb") as fh:
            tail = fh.read()[-2000:].decode(errors="replace")
    except OSError:
        tail = ""
    reply = {"rc": os.waitstatus_to_exitcode(status), "seconds": seconds, "stderr": tail,
             "timed_out": not ready and req.get("delay") is None}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
"""
)


class ForkServer:
    """One server process; `ask` sends a request and waits for its reply."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(
        self,
        args: list[str],
        *,
        delay: float | None = None,
        at: tuple[str, str, str] | None = None,
        timeout: float = 900,
    ) -> dict[str, Any]:
        req = {
            "args": args,
            "env": self.env,
            "cwd": str(self.cwd),
            "stderr": str(self.cwd / "command.err"),
            "delay": delay,
            "at": list(at) if at else None,
            "timeout": timeout,
        }
        stdin: IO[str] | None = self.proc.stdin
        stdout: IO[str] | None = self.proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(req) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError("the fork server ended")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
