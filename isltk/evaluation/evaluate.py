"""Score a checkpoint on a prepared split and write files anyone can re-score with `sacrebleu`."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from isltk.errors import DataError
from isltk.evaluation.inference import LoadedTranslator, decode_memories, encode_split
from isltk.fsutil import atomic_write_bytes, atomic_write_json
from isltk.metrics import Score, all_scores, bleu, sentence_bleu, word_error_rate
from isltk.training import run_folder


@dataclass
class EvalReport:
    split: str
    beam: int
    alpha: float
    scores: list[Score]
    clips: int
    out_dir: Path


def scores_lowercased(loaded: LoadedTranslator, lowercase: bool | None) -> bool:
    """Score case-insensitively when asked, or when the model cannot write case (its vocabulary was lower-cased
    by data.lowercase): cased scores would then measure casing, not translation. The signature says `case:lc`."""
    return loaded.config.data.lowercase if lowercase is None else lowercase


def evaluate_split(loaded: LoadedTranslator, split: str, beam: int, alpha: float, out_dir: Path, batch_size: int = 16,
                   prepared_dir: Path | None = None, on_batch: Callable[[int], None] | None = None,
                   lowercase: bool | None = None) -> EvalReport:
    """Scores as papers report them: detokenised hypotheses against the CSV's sentences as written (case and
    punctuation kept), sacrebleu's defaults (13a tokenizer, exp smoothing), case-insensitive only when said."""
    if out_dir.exists() and not out_dir.is_dir():  # said before the decode, not after it
        raise DataError(f"{out_dir}: exists and is not a folder; choose another --out")
    encoded = encode_split(loaded, split, batch_size, prepared_dir, on_batch)
    records, decoded = encoded.records, decode_memories(loaded, encoded.memories, beam, alpha)
    lower = scores_lowercased(loaded, lowercase)
    hypotheses = [d.display for d in decoded]
    references = [r["text"] for r in records]
    scores = all_scores(hypotheses, references, lower)
    if loaded.gloss_vocab and any(r.get("gloss") for r in records):  # the CTC head's gloss recognition, as papers report it
        scores.append(word_error_rate(encoded.glosses, [r.get("gloss", "").split() for r in records]))
    out_dir.mkdir(parents=True, exist_ok=True)
    # The two text files hold what was scored (lower-cased under case:lc), so that plain
    # `sacrebleu references.txt -i hypotheses.txt` re-scores to the printed figure without flags.
    scored = (lambda text: text.lower()) if lower else (lambda text: text)
    atomic_write_bytes(out_dir / run_folder.HYPOTHESES_FILE, "".join(scored(h) + "\n" for h in hypotheses).encode("utf-8"))
    atomic_write_bytes(out_dir / run_folder.REFERENCES_FILE, "".join(scored(r) + "\n" for r in references).encode("utf-8"))
    rows = [json.dumps({"id": r["id"], "reference": ref, "hypothesis": hyp, "sentence_bleu": round(sentence_bleu(hyp, ref, lower), 4)},
                       ensure_ascii=False) + "\n" for r, ref, hyp in zip(records, references, hypotheses, strict=True)]
    atomic_write_bytes(out_dir / run_folder.EVAL_CLIPS_FILE, "".join(rows).encode("utf-8"))
    atomic_write_json(out_dir / run_folder.EVAL_METRICS_FILE, {
        "checkpoint": str(loaded.path), "split": split, "beam": beam, "alpha": alpha, "clips": len(records),
        "prepared_dir": str(Path(prepared_dir or loaded.config.data.prepared_dir).resolve()), "lowercase": lower,
        "scores": {s.name: {"value": s.value, "signature": s.signature} for s in scores},
        "text": "detokenised hypotheses against the CSV's sentences as written (clips.jsonl); "
                + ("lower-cased by sacrebleu (case:lc), and so in hypotheses.txt / references.txt" if lower
                   else "case-sensitive (case:mixed)"),
    })
    return EvalReport(split, beam, alpha, scores, len(records), out_dir)


SWEEP_BEAMS = (1, 2, 4, 6)  # `evaluate --sweep`: the beam sizes and length penalties tried on val
SWEEP_ALPHAS = (0.0, 0.5, 1.0, 1.5)


@dataclass
class SweepResult:
    table: list[tuple[int, float, float]]  # (beam, alpha, BLEU-4)
    best_beam: int
    best_alpha: float
    best_bleu: float


def sweep(decode: Callable[[int, float], list[str]], references: list[str], beams: Sequence[int], alphas: Sequence[float]) -> SweepResult:
    """BLEU-4 for every (beam, alpha) pair; the best pair (ties: smaller beam, then smaller alpha)."""
    table = []
    for beam in beams:
        for alpha in alphas if beam > 1 else alphas[:1]:  # alpha does not change greedy search
            table.append((beam, alpha, bleu(decode(beam, alpha), references).value))
    best = max(table, key=lambda row: (row[2], -row[0], -row[1]))
    return SweepResult(table, best[0], best[1], best[2])


def sweep_split(loaded: LoadedTranslator, split: str, beams: Sequence[int], alphas: Sequence[float], batch_size: int = 16,
                prepared_dir: Path | None = None) -> SweepResult:
    encoded = encode_split(loaded, split, batch_size, prepared_dir)  # the ViT runs once, not per pair
    references = [r["text_norm"] for r in encoded.records]
    return sweep(lambda beam, alpha: [d.text for d in decode_memories(loaded, encoded.memories, beam, alpha)], references,
                 beams, alphas)
