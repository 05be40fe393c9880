"""The `vitalfile` command: a thin Typer wrapper over the library.

Library errors become one line per problem on stderr and a non-zero exit code; never a
traceback for bad input. Each command group lives in its own module and registers here.
"""

from __future__ import annotations

import sys

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from vitalfile.cli.common import app, print_error
from vitalfile.errors import FileRejected, VitalfileError

__all__ = ["app", "main"]


def _register() -> None:
    # importing a command module adds its commands to `app`
    from vitalfile.cli import (  # noqa: F401
        apikey_cmds,
        cases_cmds,
        core,
        daily_cmds,
        db_cmds,
        ledger_cmds,
        link_cmds,
        policy_cmds,
        serve_cmds,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command, translate vitalfile errors at the edge."""
    _register()
    from vitalfile.cli.cases_cmds import route_aliases  # `ingest activity FILE`

    argv = route_aliases(sys.argv[1:] if argv is None else list(argv))
    try:
        app(args=argv, prog_name="vitalfile", standalone_mode=False)
    except FileRejected as exc:
        for problem in exc.problems:
            print_error(problem)
        print_error(exc)
        return exc.exit_code
    except VitalfileError as exc:
        print_error(exc)
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except NoArgsIsHelpError as exc:
        exc.show()
        return 0
    except ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0


def run() -> None:  # pragma: no cover - console script
    sys.exit(main())
