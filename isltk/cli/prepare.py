"""`isltk prepare`: sign videos + CSV -> the prepared frame cache (parallel, resumable)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from isltk.cli.common import ConfigOption, SetOption, handle_errors, read_config, stderr, stdout
from isltk.cli.progress import make_progress


@handle_errors
def prepare(
    config: ConfigOption = None,
    set_: SetOption = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-j", min=1, help="Decoding processes (default: data.prepare_workers, else all cores).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Delete clips prepared with other settings and rebuild.")] = False,
    show_rejects: Annotated[int, typer.Option("--show-rejects", min=0, help="Rejected rows to list at the end.")] = 20,
) -> None:
    """Decode the videos named in data.csv_path into uint8 frame tensors under data.prepared_dir.

    Reads the generic `video,text[,split]`, iSign / ISLTranslate `uid,text` or PHOENIX-2014T corpus
    layouts (data.layout: auto detects). Interrupt it any time and re-run: finished clips are kept,
    nothing half-written is used. Bad videos are reported in rejects.csv; exit code 0 when at least
    one clip is usable.
    """
    from isltk.data.prepare import prepare_cache

    cfg = read_config(config, set_)
    progress = make_progress("clips")
    task = progress.add_task("decoding", total=None)

    def on_start(todo: int, settled: int) -> None:
        if settled:
            stderr.print(f"{settled} clip(s) already settled in {cfg.data.prepared_dir} (kept, not decoded again)")
        progress.update(task, total=todo)
        if todo:
            progress.start()

    def on_clip(outcome) -> None:  # type: ignore[no-untyped-def]
        progress.advance(task)
        if outcome.status == "rejected":
            progress.console.print(f"[yellow]rejected[/] {outcome.clip_id}: {outcome.reason}", highlight=False)

    try:
        report = prepare_cache(cfg, workers=workers, force=force, on_start=on_start, on_clip=on_clip)
    finally:
        progress.stop()
    _print_summary(report, show_rejects)
    if report.usable == 0:
        raise typer.Exit(1)


def _print_summary(report, show_rejects: int) -> None:  # type: ignore[no-untyped-def]
    from isltk.data.cache import REJECTS_FILE

    table = Table(title=f"prepared cache: {report.out_dir}", show_header=False)
    table.add_row("layout", report.layout)
    table.add_row("rows in CSV", str(report.total_rows))
    table.add_row("decoded now", str(report.prepared))
    table.add_row("kept from earlier runs", str(report.reused))
    if report.converted:
        table.add_row("re-stored (cache_format changed)", f"{report.converted} clips, no video decoded")
    table.add_row("rejected", str(len(report.rejects)))
    for split, count in report.split_counts.items():
        table.add_row(f"{split} clips", str(count))
    table.add_row("vocabulary (train split)", f"{report.vocab_size} tokens ({report.tokenizer})")
    if report.gloss_vocab_size:
        table.add_row("gloss vocabulary (train split)", f"{report.gloss_vocab_size} glosses")
    table.add_row("supervision (train with this config)", report.supervision)
    if report.keypoints_choice:
        table.add_row("inputs (data.keypoints auto)", report.keypoints_choice)
    if report.hands_found is not None:
        table.add_row(f"keypoints ({report.keypoints})", f"at least one hand found in {100 * report.hands_found:.1f}% of stored frames")
    if report.max_length:
        over = report.targets_over_max_length
        table.add_row("target length (tokens, BOS/EOS included)", f"99th percentile {report.target_tokens_p99}; "
                      f"{over} longer than decoder.max_length {report.max_length}" + (" (cut there in training)" if over else ""))
    rate = report.prepared / report.seconds if report.seconds and report.prepared else 0.0
    table.add_row("time", f"{report.seconds:.1f} s ({rate:.1f} clips/s decoded)")
    stdout.print(table)
    if report.targets_over_max_length:
        stderr.print(f"[yellow]warning:[/] {report.targets_over_max_length} target sentence(s) exceed decoder.max_length "
                     f"({report.max_length} tokens) and will be cut in training; raise decoder.max_length to "
                     f"{report.target_tokens_p99} or more")
    if report.rejects:
        stderr.print(f"{len(report.rejects)} row(s) rejected; all listed in {report.out_dir / REJECTS_FILE}")
        for reject in report.rejects[:show_rejects]:
            stderr.print(f"  line {reject.line}: {reject.clip_id or '?'} ({reject.source}): {reject.reason}", highlight=False)
    if report.usable == 0:
        stderr.print("[bold red]error:[/] no clip could be prepared; see the reasons above")
