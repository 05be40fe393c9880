"""`vitalfile apikey`: create, list and revoke keys to the service (kept hashed)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from vitalfile.cli.common import app, open_db, out_console
from vitalfile.disclosure.access import ROLES, create_key, list_keys, revoke_key

__all__ = ["apikey_app"]

apikey_app = typer.Typer(help="Keys to the HTTP API and the console.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def apikey_create(
    role: Annotated[str, typer.Option(help=f"a staff role: {', '.join(ROLES)}")] = "",
    recipient: Annotated[str, typer.Option(help="a recipient id (its tier applies)")] = "",
    label: Annotated[str, typer.Option(help="who holds the key (a reviewer's name)")] = "",
    expires: Annotated[
        str,
        typer.Option(
            help="when the key stops working: days (90d), a date (through that day, UTC) "
            "or an ISO time; default never"
        ),
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Make a key for one staff role or one recipient; the key is printed once, only here."""
    with open_db() as store:
        key_id, token = create_key(
            store, role=role, recipient=recipient, label=label, expires=expires
        )
        until = next((k["expires"] for k in list_keys(store) if k["key_id"] == key_id), "")
    if as_json:
        print(json.dumps({"key_id": key_id, "key": token, "expires": until}))
        return
    out_console.print(f"key id {key_id}" + (f" (expires {until})" if until else ""))
    print(token)


@apikey_app.command("list")
def apikey_list() -> None:
    """Every key: id, scope, label, revoked (never the key or its hash)."""
    with open_db() as store:
        rows = list_keys(store)
    for r in rows:
        scope = f"role {r['role']}" if r["role"] else f"recipient {r['recipient']}"
        out_console.print(
            f"{r['key_id']}  {scope}  {r['label'] or '-'}"
            + (f"  expires {r['expires']}" if r["expires"] else "")
            + ("  revoked" if r["revoked"] else "")
        )


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id")],
    reason: Annotated[str, typer.Option(help="why")] = "",
) -> None:
    """Revoke a key (it stops working within seconds on every worker)."""
    with open_db() as store:
        revoke_key(store, key_id, reason=reason)
    out_console.print(f"key {key_id} revoked")
