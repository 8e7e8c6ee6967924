"""`isltk check-hardware`: will training fit, and the largest batch per GPU (traced, not guessed)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from isltk.cli.common import ConfigOption, SetOption, handle_errors, read_config, stderr, stdout


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
    from isltk.hardware.catalog import CATALOG, find_gpu
    from isltk.hardware.estimate import ASSUMED_MFU, accumulation_for, estimate, gib

    cfg = read_config(config, set_)
    own = find_gpu(cfg.hardware.gpu)
    gpus = [own] + [g for g in (find_gpu(n) for n in gpu) if g != own] if gpu else [own] + [g for g in CATALOG.values() if g != own]
    est = estimate(cfg)
    batch, ckpt_on = cfg.training.batch_size, cfg.encoder.grad_checkpointing
    breakdown = est.breakdown(batch, ckpt_on)
    fits_own = breakdown.total <= own.memory_bytes
    rows = []
    for g in gpus:
        plain, ckpt = est.max_batch(g, False), est.max_batch(g, True)
        per_gpu, steps = accumulation_for(batch, ckpt if not plain else plain)
        rows.append({"gpu": g.name, "memory_gib": g.memory_gib, "dtype": g.amp_dtype, "fits_configured_batch": est.fits(g, batch, ckpt_on),
                     "max_batch": plain, "max_batch_checkpointing": ckpt, "per_gpu_batch": per_gpu, "accumulation_steps": steps,
                     "epoch_hours_estimate": round(est.epoch_hours(g, est.lengths.clips), 3), "peak_tflops": g.peak_tflops})
    facts = {
        "config_gpu": own.name, "batch_per_gpu": batch, "frames": est.lengths.memory_frames, "mean_frames": est.lengths.time_frames,
        "lengths_from": est.lengths.source, "image_size": cfg.data.image_size,
        "num_gpus": cfg.hardware.num_gpus, "activation_checkpointing": ckpt_on, "fits": fits_own,
        "parameters": est.parameters, "train_gflop_per_clip": round(est.train_gflop_per_clip, 2),
        "memory_bytes": breakdown.lines, "total_bytes": breakdown.total, "gpus": rows,
        "epoch_estimate": {"clips": est.lengths.clips, "assumed_mfu": ASSUMED_MFU, "note": "an estimate, not a measurement"},
    }
    if probe:
        facts["probe"] = _probe(cfg, est, own)
    if as_json:
        typer.echo(json.dumps(facts, indent=1))
    else:
        _print_tables(cfg, est, breakdown, rows, own, fits_own, gib, ASSUMED_MFU)
    if not fits_own:
        raise typer.Exit(1)


def _probe(cfg, est, own) -> dict:  # type: ignore[no-untyped-def]
    from isltk.hardware.estimate import REFERENCE_VOCAB
    from isltk.hardware.probe import probe_batch, probe_max_batch

    ckpt_on = cfg.encoder.grad_checkpointing
    predicted_max = est.max_batch(own, ckpt_on)
    measured_max, trials = probe_max_batch(cfg, REFERENCE_VOCAB, ckpt_on, predicted_max)
    at = probe_batch(cfg, max(1, min(cfg.training.batch_size, measured_max)), REFERENCE_VOCAB, ckpt_on)
    predicted = est.breakdown(at.batch, ckpt_on).total
    error = 100.0 * (predicted - at.peak_reserved) / at.peak_reserved if at.peak_reserved else None
    stderr.print(f"probe at batch {at.batch}: measured peak reserved {at.peak_reserved / 2**30:.2f} GiB, predicted "
                 f"{predicted / 2**30:.2f} GiB ({error:+.1f}%), step {at.step_seconds * 1000:.0f} ms; largest batch measured "
                 f"{measured_max}, predicted {predicted_max}")
    return {"batch": at.batch, "measured_peak_reserved_bytes": at.peak_reserved, "predicted_bytes": predicted,
            "error_percent": error, "step_seconds": at.step_seconds, "measured_max_batch": measured_max,
            "predicted_max_batch": predicted_max, "trials": [t.__dict__ for t in trials]}


def _print_tables(cfg, est, breakdown, rows, own, fits_own, gib, mfu) -> None:  # type: ignore[no-untyped-def]
    params = Table(title="parameters (measured on the built model)")
    params.add_column("part")
    params.add_column("parameters", justify="right")
    for part, count in est.parameters.items():
        params.add_row(part, f"{count / 1e6:,.1f} M")
    stdout.print(params)
    stdout.print(f"clip lengths from {est.lengths.source}")
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
        accum = f"{r['per_gpu_batch']} x {r['accumulation_steps']}" if r["accumulation_steps"] else "-"
        table.add_row(r["gpu"], f"{r['memory_gib']:g}", r["dtype"], "yes" if r["fits_configured_batch"] else "no",
                      str(r["max_batch"]), str(r["max_batch_checkpointing"]), accum, f"{r['epoch_hours_estimate'] * 60:.1f} min")
    stdout.print(table)
    stdout.print(f"epoch time is an ESTIMATE: {est.lengths.clips} clips x training FLOPs at {mfu:.0%} MFU of each GPU's "
                 "peak dense tensor throughput. 'batch x accum' keeps the configured effective batch with gradient accumulation.")
