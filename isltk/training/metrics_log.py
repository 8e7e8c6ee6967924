"""Where a run's numbers go: RUN_DIR/metrics.jsonl (always), TensorBoard events (if installed) and
RUN_DIR/curves.png (loss and validation BLEU), redrawn at each validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from isltk.training.run_folder import CURVES_FILE, METRICS_FILE


class MetricsLog:
    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.run_dir, self.enabled = run_dir, enabled
        self.path = run_dir / METRICS_FILE
        self._tensorboard = None
        if enabled:
            run_dir.mkdir(parents=True, exist_ok=True)
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tensorboard = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:  # tensorboard is optional
                self._tensorboard = None

    def write(self, kind: str, step: int, **values: Any) -> None:
        if not self.enabled:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"kind": kind, "step": step, **values}) + "\n")
        if self._tensorboard is not None:
            for key, value in values.items():
                if isinstance(value, int | float):
                    self._tensorboard.add_scalar(f"{kind}/{key}", value, step)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def plot(self) -> Path | None:
        """Redraw curves.png from metrics.jsonl (the whole history, also across resumes)."""
        if not self.enabled:
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = self.read()
        train = [(r["step"], r["loss"]) for r in rows if r["kind"] == "train"]
        val = [(r["step"], r["bleu4"]) for r in rows if r["kind"] == "val"]
        val_loss = [(r["step"], r["loss"]) for r in rows if r["kind"] == "val" and "loss" in r]
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
        if train:
            left.plot(*zip(*train, strict=True), label="train loss (label-smoothed, per token)")
        if val_loss:
            left.plot(*zip(*val_loss, strict=True), "o-", label="val loss (per token)")
        left.set_xlabel("optimizer step")
        left.set_ylabel("cross-entropy (nats/token)")
        left.legend()
        if val:
            right.plot(*zip(*val, strict=True), "o-", color="tab:green")
        right.set_xlabel("optimizer step")
        right.set_ylabel("val BLEU-4")
        figure.tight_layout()
        out = self.run_dir / CURVES_FILE
        figure.savefig(out, dpi=90)
        plt.close(figure)
        return out

    def close(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.close()
