"""The `isltk` command: wires one thin module per subcommand; the work lives in the library."""

from __future__ import annotations

from typing import Annotated

import typer

from isltk import __version__
from isltk.cli import check_hardware, evaluate, prepare, report, synth, train, translate
from isltk.cli.common import DEBUG_ENV_VAR, set_debug

app = typer.Typer(
    name="isltk",
    help="Indian Sign Language -> English translation: prepare videos, train, evaluate, translate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"isltk {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help=f"Show full tracebacks (same as {DEBUG_ENV_VAR}=1).")
    ] = False,
) -> None:
    set_debug(debug)


app.command("synth")(synth.synth)
app.command("prepare")(prepare.prepare)
app.command("train")(train.train)
app.command("evaluate")(evaluate.evaluate)
app.command("translate")(translate.translate)
app.command("check-hardware")(check_hardware.check_hardware)
app.command("report")(report.report)


def main() -> None:
    app()
