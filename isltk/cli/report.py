"""`isltk report`: a self-contained HTML page of where the translator fails, worst clips first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isltk.cli.common import handle_errors, stdout


@handle_errors
def report(
    path: Annotated[Path, typer.Argument(help="An `evaluate` output folder, or a run folder (its newest evaluation).")],
    out: Annotated[Path | None, typer.Option(help="HTML file to write (default: report.html in the evaluation folder).")] = None,
    thumbnails: Annotated[int, typer.Option(min=0, help="Clips (worst first) that get a strip of their frames.")] = 300,
) -> None:
    """Write one HTML file (inline images and CSS, opens offline): scores with signatures, training curves,
    accuracy by sentence length, most missed/inserted words, and every clip worst first with its frames."""
    from isltk.evaluation.report import write_report

    stdout.print(f"report: {write_report(path, out, thumbnails)}")
