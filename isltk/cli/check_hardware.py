"""`isltk check-hardware`: will training fit, and the largest batch per GPU (traced, not guessed)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from isltk.cli.common import ConfigOption, SetOption, handle_errors, read_config, stderr, stdout

if TYPE_CHECKING:  # the command imports torch only when it runs
    from isltk.config import Config
    from isltk.hardware.plan import HardwarePlan


@handle_errors
def check_hardware(
    config: ConfigOption = None,
    set_: SetOption = None,
    gpu: Annotated[list[str] | None, typer.Option("--gpu", help="GPU(s) to compare (repeatable); default: the config's, then the catalogue.")] = None,
    probe: Annotated[bool, typer.Option("--probe", help="On a CUDA machine: measure real steps and bisect the largest batch.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the facts as JSON instead of tables.")] = False,
) -> None:
    """Trace one real training step without a GPU and report memory, fit and the largest batch per GPU.

    Exit code 1 when the configured batch does not fit the configured GPU (hardware.gpu).
    """
    from isltk.hardware.plan import plan_hardware, probe_against_prediction

    plan = plan_hardware(read_config(config, set_), gpu)
    cfg = plan.config  # data.keypoints auto resolved
    facts = plan.facts
    if probe:
        measured = probe_against_prediction(cfg, plan)
        facts["probe"] = asdict(measured)
        error = f"{measured.error_percent:+.1f}%" if measured.error_percent is not None else "?"
        stderr.print(f"probe at batch {measured.batch}: measured peak {measured.measured_peak_bytes / 2**30:.2f} GiB (allocator "
                     f"{measured.measured_peak_reserved_bytes / 2**30:.2f} + context/other "
                     f"{measured.measured_outside_allocator_bytes / 2**30:.2f}), "
                     f"predicted {measured.predicted_bytes / 2**30:.2f} GiB ({error}), step "
                     f"{measured.step_seconds * 1000:.0f} ms; largest batch measured {measured.measured_max_batch}, "
                     f"predicted {measured.predicted_max_batch}")
    if as_json:
        typer.echo(json.dumps(facts, indent=1))
    else:
        _print_tables(cfg, plan)
    if not plan.fits:
        raise typer.Exit(1)


def _print_tables(cfg: Config, plan: HardwarePlan) -> None:
    from isltk.hardware.estimate import ASSUMED_MFU, gib

    est, breakdown, rows, own, fits_own = plan.estimate, plan.breakdown, plan.rows, plan.own, plan.fits
    params = Table(title="parameters (measured on the built model)")
    params.add_column("part")
    params.add_column("parameters", justify="right")
    for part, count in est.parameters.items():
        params.add_row(part, f"{count / 1e6:,.1f} M")
    stdout.print(params)
    stdout.print(f"clip lengths from {est.lengths.source}")
    if plan.facts["inputs"]:  # data.keypoints auto: which streams are counted
        stdout.print(f"inputs: {plan.facts['inputs']}")
    stdout.print(f"training FLOPs per clip ({est.lengths.time_frames} frames, forward + backward, torch.utils.flop_counter): "
                 f"{est.train_gflop_per_clip:,.0f} GFLOP")
    memory = Table(title=f"memory per GPU at batch {cfg.training.batch_size} x {est.lengths.memory_frames} frames, {own.name} "
                         f"({own.amp_dtype}, activation checkpointing {'on' if cfg.encoder.grad_checkpointing else 'off'})")
    memory.add_column("what")
    memory.add_column("GiB", justify="right")
    for name, value in breakdown.lines.items():
        memory.add_row(name, f"{gib(value):.2f}")
    memory.add_row("[bold]total[/]", f"[bold]{gib(breakdown.total):.2f}[/]")
    memory.add_row(f"{own.name} capacity", f"{gib(own.memory_bytes):.2f}")
    stdout.print(memory)
    verdict = "[green]fits[/]" if fits_own else "[red]does NOT fit[/]"
    stdout.print(f"configured batch {cfg.training.batch_size} on {own.name}: {verdict}")
    table = Table(title=f"largest batch per GPU (clips of {est.lengths.memory_frames} frames at {cfg.data.image_size} px)")
    for column in ("GPU", "GiB", "AMP", f"fits {cfg.training.batch_size}", "max batch", "max (ckpt)", "batch x accum", "epoch (est.)"):
        table.add_column(column, justify="right", no_wrap=True)
    for r in rows:
        accum = f"{r.per_gpu_batch} x {r.accumulation_steps}" if r.accumulation_steps else "-"
        table.add_row(r.gpu, f"{r.memory_gib:g}", r.dtype, "yes" if r.fits_configured_batch else "no",
                      str(r.max_batch), str(r.max_batch_checkpointing), accum, f"{r.epoch_hours_estimate * 60:.1f} min")
    stdout.print(table)
    stdout.print(f"epoch time is an ESTIMATE: {est.lengths.clips} clips x training FLOPs at {ASSUMED_MFU:.0%} MFU of each GPU's "
                 "peak dense tensor throughput. 'batch x accum' keeps the configured effective batch with gradient accumulation.")
