"""Every GPU figure in one call, for the few minutes a GPU machine is lent: `make gpu-check` (`make gpu-check DRY=1`
runs the same parts at tiny sizes on the CPU, as the test suite does, so the script cannot rot).

    .venv/bin/python benchmarks/bench_gpu_check.py [--out DIR] [--dry]

Each part runs as its own process with its own time limit, so a slow or failing part leaves the others'
results; each row of the table says its figure or why there is none. Writes gpu_check.json and
gpu_check.md to --out (default: $OUT when set, else ./gpu-check).

Parts: the machine (GPU, memory, driver, torch, CUDA); check-hardware's traced prediction against real
steps (`--probe`: allocator peak + memory outside it, the largest batch by bisection) for the `base` and
`dense_vit` presets; the dense ViT's training step (clips/s, TFLOP/s, MFU against the catalogue's dense
bf16 peak) plain, with activation checkpointing and with torch.compile; the levers (fused AdamW, SDPA attention,
pinned copies), each turned off in a run of its own, as on/off ratios of clips/s; the frozen-feature path's speed-up;
the translation throughput of evaluate/translate's decoding (beam 1 and 4, bf16 autocast; bench_inference.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV_PROBE = """
import json, platform, torch
gpu = torch.cuda.is_available()
print(json.dumps({"gpu": torch.cuda.get_device_name() if gpu else "none (CPU)",
                  "memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if gpu else None,
                  "torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
                  "driver": __import__("subprocess").run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                                         capture_output=True, text=True).stdout.strip() if gpu else None}))
"""


BUDGET_S = 7.5 * 60  # the whole script, so that it ends within 8 minutes on a GPU whatever its parts do
DEADLINE = float("inf")  # main() starts the clock: BUDGET_S from its start


def run_part(command: list[str], limit_s: float) -> tuple[int | None, str, float]:
    """(exit code or None when it ran past its limit, stdout + stderr, seconds). A part gets its own limit or what
    is left of the script's budget, whichever is less; with under 10 s left it is not started."""
    start = time.perf_counter()
    limit_s = min(limit_s, DEADLINE - start)
    if limit_s < 10:
        return None, f"not started: the script's {BUDGET_S / 60:.1f}-minute budget was spent", 0.0
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=limit_s)
        return done.returncode, done.stdout + done.stderr, time.perf_counter() - start
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return None, out, time.perf_counter() - start


def why(code: int | None, out: str) -> str:
    """A row's reason for having no figure."""
    if code is None:
        return out if out.startswith("not started") else "ran past its time limit"
    return f"exit {code}: {out.strip()[-300:]}"


def preset_config(folder: Path, preset: str, dry: bool) -> Path:
    path = folder / f"{preset}.yaml"
    lines = [f"preset: {preset}", "training:", f"  device: {'cpu' if dry else 'cuda'}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def hardware_row(config: Path, dry: bool, limit_s: float) -> dict:
    command = [sys.executable, "-m", "isltk", "check-hardware", "--config", str(config), "--json"]
    code, out, seconds = run_part(command + ([] if dry else ["--probe"]), limit_s)
    row: dict = {"seconds": round(seconds, 1)}
    start = out.find("{\n")
    if start < 0:
        return {**row, "reason": why(code, out)}
    facts = json.loads(out[start:out.rfind("}") + 1])
    own = facts["gpus"][0]
    row.update(predicted_max_batch=own["max_batch"], predicted_bytes=facts["total_bytes"])
    probe = facts.get("probe")
    if probe:
        row.update(measured_max_batch=probe["measured_max_batch"], probe_batch=probe["batch"],
                   measured_peak_bytes=probe["measured_peak_bytes"], error_percent=probe["error_percent"])
    else:
        row["reason"] = "no CUDA GPU: prediction only (dry run)" if dry else "no probe result"
    return row


TRAIN_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\S+)\s*$")


def train_row(preset: str, overrides: list[str], steps: int, limit_s: float) -> dict:
    command = [sys.executable, "benchmarks/bench_train.py", "--preset", preset, "--steps", str(steps), "--warmup", "1"]
    code, out, seconds = run_part(command + [arg for item in overrides for arg in ("--set", item)], limit_s)
    for line in reversed(out.splitlines()):
        match = TRAIN_ROW.match(line)
        if match:
            batch, frames, step_ms, clips_s, images_s, tflops, mfu, peak = match.groups()
            return {"batch": int(batch), "frames": int(frames), "step_ms": float(step_ms), "clips_per_s": float(clips_s),
                    "frames_per_s": float(images_s), "tflops": float(tflops), "mfu": mfu, "peak_gib": peak,
                    "seconds": round(seconds, 1)}
    return {"reason": why(code, out), "seconds": round(seconds, 1)}


def frozen_row(preset: str, steps: int, limit_s: float) -> dict:
    code, out, seconds = run_part([sys.executable, "benchmarks/bench_frozen.py", "--preset", preset, "--steps", str(steps),
                                   "--warmup", "1"], limit_s)
    found = re.search(r"speed-up:\s*([\d.]+)", out)
    if found:
        return {"speed_up": float(found.group(1)), "seconds": round(seconds, 1)}
    return {"reason": why(code, out), "seconds": round(seconds, 1)}


def inference_row(preset: str, dry: bool, limit_s: float) -> dict:
    sizes = ["--batch", "2", "--frames", "4", "--repeats", "1", "--vocab", "50"] if dry else ["--batch", "16", "--frames", "16"]
    code, out, seconds = run_part([sys.executable, "benchmarks/bench_inference.py", "--preset", preset, *sizes], limit_s)
    rates = dict(re.findall(r"^beam (\d+): ([\d.]+) clips/s", out, re.MULTILINE))
    if {"1", "4"} <= set(rates):
        return {"beam1_clips_per_s": float(rates["1"]), "beam4_clips_per_s": float(rates["4"]), "seconds": round(seconds, 1)}
    return {"reason": why(code, out), "seconds": round(seconds, 1)}


def markdown(results: dict) -> str:
    env = results["machine"]
    lines = [f"# GPU check ({'dry run, CPU' if results['dry'] else env.get('gpu')})", "",
             f"torch {env.get('torch')}, CUDA {env.get('cuda')}, driver {env.get('driver')}, {env.get('memory_gib')} GiB", "",
             "| part | figure |", "|---|---|"]
    for name, row in results["parts"].items():
        if "reason" in row and len(row) <= 2:
            figure = f"none: {row['reason']}"
        else:
            figure = ", ".join(f"{k} {v}" for k, v in row.items() if k != "seconds")
        lines.append(f"| {name} | {figure} ({row.get('seconds', '?')} s) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    global DEADLINE
    DEADLINE = time.perf_counter() + BUDGET_S
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-check")))
    parser.add_argument("--dry", action="store_true", help="tiny sizes on the CPU (the test suite's run)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    dry = args.dry
    small, large = ("tiny", "tiny") if dry else ("base", "dense_vit")
    steps, limit = (1, 120.0) if dry else (10, 90.0)  # on a GPU: ~8 minutes at most in all
    code, out, _ = run_part([sys.executable, "-c", ENV_PROBE], 60)
    machine = json.loads(out.strip().splitlines()[-1]) if code == 0 else {"reason": out.strip()[-300:]}
    parts: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in dict.fromkeys((small, large)):
            parts[f"check-hardware vs probe, {preset}"] = hardware_row(preset_config(Path(tmp), preset, dry), dry, limit)
        batch = parts[f"check-hardware vs probe, {large}"].get("measured_max_batch") or \
            parts[f"check-hardware vs probe, {large}"].get("predicted_max_batch") or 1
        batch = 2 if dry else max(1, batch)
        variants = {"plain": [], "activation checkpointing": ["encoder.grad_checkpointing=true"],
                    "torch.compile": ["training.compile=true"]}
        for name, extra in variants.items():
            if dry and name == "torch.compile":
                parts[f"training step, {large}, {name}"] = {"reason": "skipped in the dry run (compiling takes minutes on CPU)"}
                continue
            parts[f"training step, {large}, {name}"] = train_row(large, [f"training.batch_size={batch}", *extra], steps, limit)
        plain = parts[f"training step, {large}, plain"]
        levers = {"fused AdamW": "training.optimizer.fused=false", "SDPA attention": "encoder.fused_attention=false",
                  "pinned copies": "training.pin_memory=false"}
        if dry:  # one row turns every lever off: each option is parsed and runs through the step
            levers = {"fused AdamW + SDPA + pinned copies": list(levers.values())}
        for name, off in levers.items():
            row = train_row(large, [f"training.batch_size={batch}", *([off] if isinstance(off, str) else off)], steps, limit)
            if "clips_per_s" in row and "clips_per_s" in plain:
                row = {"on_over_off": round(plain["clips_per_s"] / row["clips_per_s"], 3), **row}
            parts[f"lever {name}: training step with it off, {large}"] = row
        parts[f"frozen-feature speed-up, {small}"] = frozen_row(small, steps, limit)
        parts[f"evaluate/translate clips/s, {large} (beam 1 and 4)"] = inference_row(large, dry, limit)
    parts["lever channels-last stem"] = {"reason": f"{large}'s stem is one strided conv; the pooled stem's channels-last "
                                         "layout is measured by benchmarks/bench_stem.py"}
    results = {"dry": dry, "machine": machine, "parts": parts}
    (args.out / "gpu_check.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "gpu_check.md").write_text(markdown(results))
    print(markdown(results))
    print(f"written: {args.out / 'gpu_check.json'}, {args.out / 'gpu_check.md'}")


if __name__ == "__main__":
    main()
