"""Commands for linkage: train the model, explain a report, link a file with the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vitalfile.cli.common import app, open_db, out_console, progress_bar
from vitalfile.errors import UsageError
from vitalfile.events import SOURCE_KINDS

link_app = typer.Typer(help="Record linkage with the Splink model.", no_args_is_help=True)
app.add_typer(link_app, name="link")


@link_app.command("train")
def link_train(
    people: Annotated[int, typer.Option(help="synthetic people to train on")] = 1_000_000,
    months: Annotated[int, typer.Option(help="months of synthetic deaths and reports")] = 12,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same model)")] = 11,
    out: Annotated[
        Path | None, typer.Option(help="where to write the model (default: the package's)")
    ] = None,
) -> None:
    """Retrain the model on synthetic data (EM; u by random sampling) and print it."""
    from vitalfile.link.train import parameters_table, save_model, train_on_synth

    if people < 100 or months < 1:
        raise UsageError("--people must be at least 100 and --months at least 1")
    result = train_on_synth(people=people, months=months, seed=seed)
    path = save_model(result.model, out)
    out_console.print(
        f"model {result.model['vitalfile_model_version']}: trained on {result.people:,} people "
        f"and {result.reports:,} reports in {result.seconds:.0f} s; saved to {path}"
    )
    prior = result.model["probability_two_random_records_match"]
    out_console.print(f"prior (probability two random records match): {prior:g}")
    out_console.print(f"{'field':<44} {'level':<58} {'m':>9} {'u':>9} {'weight':>7}")
    for row in parameters_table(result.model):
        out_console.print(
            f"{row['field']:<44} {row['level']:<58} {row['m']:>9.3g} {row['u']:>9.3g} "
            f"{row['weight']:>+7.2f}",
            markup=False,
        )


@link_app.command("settings")
def link_settings(
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """The thresholds the model's decisions use now (defaults, or VITALFILE_LINK_<NAME>)."""
    from dataclasses import asdict

    from vitalfile.link.decide import DECIDE_SETTINGS_HELP, DecideSettings

    values = asdict(DecideSettings.from_env())
    if as_json:
        typer.echo(json.dumps(values))
        return
    for name, value in values.items():
        shown = ",".join(value) if isinstance(value, tuple | list) else value
        out_console.print(
            f"{name:<28} {shown!s:<12} VITALFILE_LINK_{name.upper()}: {DECIDE_SETTINGS_HELP[name]}",
            markup=False,
        )


@app.command("settings")
def settings_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """Every setting, its value in force, its environment variable and what it does.

    Each group is declared once beside the code that reads it (vitalfile.settings, the
    service's, the linkage thresholds, Spark's); this lists them all."""
    from dataclasses import asdict, fields

    from vitalfile.link.decide import DECIDE_SETTINGS_HELP, DecideSettings
    from vitalfile.link.spark import SPARK_SETTINGS_HELP, SparkSettings
    from vitalfile.settings import API_SETTINGS_HELP, SETTINGS_HELP, ApiSettings, Settings

    groups: list[tuple[str, str, object, dict[str, str]]] = [
        ("core", "VITALFILE_", Settings.from_env(), SETTINGS_HELP),
        ("service", "VITALFILE_", ApiSettings(), API_SETTINGS_HELP),
        ("linkage", "VITALFILE_LINK_", DecideSettings.from_env(), DECIDE_SETTINGS_HELP),
        ("spark", "VITALFILE_SPARK_", SparkSettings.from_env(), SPARK_SETTINGS_HELP),
    ]
    rows: list[dict[str, str]] = []
    for group, prefix, values, helps in groups:
        current = asdict(values)  # type: ignore[call-overload]
        for f in fields(values):  # type: ignore[arg-type]
            if f.name == "session_secret":
                current[f.name] = "(set)" if current[f.name] else ""
            if any(r["env"] == prefix + f.name.upper() for r in rows):
                continue  # one variable, one line (the service reads the core's db and key)
            value = current[f.name]
            shown = ",".join(value) if isinstance(value, tuple | list) else str(value)
            rows.append(
                {
                    "group": group,
                    "name": f.name,
                    "env": prefix + f.name.upper(),
                    "value": shown,
                    "help": helps.get(f.name, ""),
                }
            )
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        out_console.print(
            f"{r['group']:<8} {r['env']:<36} {r['value']!s:<24} {r['help']}", markup=False
        )


@link_app.command("explain")
def link_explain(
    report: Annotated[str, typer.Argument(help="the report: source/report_id, or report_id")],
    png: Annotated[Path | None, typer.Option(help="write the waterfall chart as PNG")] = None,
    html: Annotated[Path | None, typer.Option(help="write the waterfall chart as HTML")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """Why a report links (or not): each comparison's level and weight, prior and final."""
    from vitalfile.intake.explain import explain_report, write_chart

    with open_db() as store:
        expl = explain_report(store, report, chart=bool(png or html))
    if png or html:
        write_chart(expl, png=png, html=html)
    if as_json:
        out_console.print_json(
            json.dumps(
                {
                    "report_key": expl.report_key,
                    "outcome": expl.result.outcome,
                    "reason": expl.result.reason,
                    "person_id": expl.result.person_id,
                    "probability": expl.result.probability,
                    "weights": expl.result.weights,
                    "lines": expl.lines,
                }
            )
        )
        return
    for line in expl.lines:
        out_console.print(line, markup=False)


@link_app.command("run")
def link_run(
    file: Annotated[Path, typer.Argument(help="death reports: DMF layout or canonical CSV")],
    source_kind: Annotated[
        str, typer.Option(help=f"one of {', '.join(SOURCE_KINDS)} (a CSV column wins)")
    ] = "state",
    source_id: Annotated[str, typer.Option(help="who sent it (a CSV column wins)")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print the counts as JSON")] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            help="where the model runs: duckdb or spark (default $VITALFILE_ENGINE "
            "or duckdb; Spark settings: $VITALFILE_SPARK_*, see docs/scale.md)"
        ),
    ] = None,
) -> None:
    """Ingest a reports file linking with the Splink model (instead of the rule)."""
    from vitalfile.intake.reports import ingest_file
    from vitalfile.link.spark import open_linker

    if not file.exists():
        raise UsageError("no such file", file=file.name)
    with (
        open_linker(engine) as linker,
        open_db() as store,
        progress_bar("link", None) as advance,
    ):
        result = ingest_file(
            store,
            file,
            source_kind=source_kind,
            source_id=source_id,
            linker=linker,
            progress=advance,
        )
    if as_json:
        out_console.print_json(json.dumps(result.as_dict()))
    else:
        out_console.print(
            f"received {result.received:,}: linked {result.linked:,}, held {result.held:,}, "
            f"unlinked {result.unlinked:,}; deaths posted V {result.posted_v:,} "
            f"P {result.posted_p:,}"
        )
