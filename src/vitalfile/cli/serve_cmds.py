"""`vitalfile serve`: the HTTP API and the console under uvicorn, several worker processes."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from vitalfile.cli.common import app, settings

__all__ = ["serve"]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 4,
    work_dir: Annotated[
        Path | None, typer.Option(help="where delivered files and match results are kept")
    ] = None,
    max_upload_mb: Annotated[int, typer.Option(help="largest request body, in MiB")] = 50,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level")] = "warning",
) -> None:
    """Serve the API (OpenAPI at /openapi.json) and the console (/console/)."""
    import uvicorn

    s = settings()
    # the workers are fresh processes: they read their settings from the environment
    os.environ["VITALFILE_DB"] = s.db
    os.environ["VITALFILE_KEY_PATH"] = str(s.key_path)
    os.environ["VITALFILE_MAX_UPLOAD_BYTES"] = str(max_upload_mb * 1024 * 1024)
    if work_dir is not None:
        os.environ["VITALFILE_WORK_DIR"] = str(work_dir)
    # one session secret for every worker, so a console sign-in holds whichever answers
    os.environ.setdefault("VITALFILE_SESSION_SECRET", secrets.token_hex(32))
    is_pg = s.db.startswith(("postgresql://", "postgres://"))
    if workers > 1 and not is_pg:
        typer.echo("DuckDB allows one process per database file: serving with 1 worker", err=True)
        workers = 1
    uvicorn.run(
        "vitalfile.api.app:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )
