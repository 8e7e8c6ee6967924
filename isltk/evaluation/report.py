"""`isltk report`: one self-contained HTML page that shows where a translator fails, worst clips first.

Everything is inline (thumbnails as JPEG data URIs, CSS, a small script for sorting and filtering), so
the file opens offline after being copied off a cluster; without JavaScript the page is still complete,
already sorted worst first. Inputs are an `evaluate` output folder (metrics.json, clips.jsonl) and the
prepared cache the checkpoint was trained on (frame thumbnails, clip lengths).
"""

from __future__ import annotations

import base64
import difflib
import html
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from isltk.data.cache import clip_frames_path, is_complete, load_manifest, storage_format
from isltk.data.framestore import FrameFile
from isltk.data.text import normalize_text
from isltk.errors import DataError
from isltk.fsutil import atomic_write_bytes
from isltk.metrics import sentence_bleu
from isltk.training import checkpoint as ckpt
from isltk.training import run_folder

LENGTH_BUCKETS = ((1, 3), (4, 6), (7, 9), (10, 14), (15, 10**6))


@dataclass
class ClipRow:
    id: str
    reference: str
    hypothesis: str
    bleu: float
    chrf: float
    frames: int
    thumbnails: str  # a data URI of the frame strip, or "" beyond the thumbnail cap
    diff: str = ""  # the hypothesis as HTML, missed and inserted words marked
    missed: tuple[str, ...] = ()
    inserted: tuple[str, ...] = ()
    exact: bool = False  # the same words as the reference, compared as the scores compare them (case:lc or not)


def find_eval_dir(path: Path) -> Path:
    """An evaluate output folder, or a run folder holding one (the newest `eval-*`)."""
    if run_folder.is_eval_dir(path):
        return path
    found = run_folder.eval_dirs(path)
    if not found:
        holds_run = run_folder.checkpoints_dir(path).is_dir()
        hint = (f"run `isltk evaluate --checkpoint {path}` first, or `isltk evaluate --report`" if holds_run else
                "pass a run folder after `isltk evaluate`, or an `eval-*` folder it wrote")
        raise DataError(f"{path}: no evaluation here (clips.jsonl + metrics.json); {hint}")
    return found[-1]


def frame_strip(path: Path, count: int, height: int) -> str:
    """`count` evenly spaced frames of a stored clip, side by side, as one small JPEG data URI."""
    stored = FrameFile(path)
    picked = np.unique(np.linspace(0, len(stored) - 1, min(count, len(stored))).round().astype(int))
    frames = stored.read(picked)
    width = max(1, round(frames.shape[2] * height / frames.shape[1]))
    strip = np.concatenate([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames], axis=1)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70])
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii") if ok else ""


def word_diff(reference: str, hypothesis: str, lowercase: bool = False) -> tuple[str, list[str], list[str]]:
    """HTML of the hypothesis against the reference (missed words struck through, inserted words marked),
    and the lists of missed and inserted words. Words and punctuation marks are compared as the scores
    compare them: case-insensitively when the evaluation scored `case:lc` ("We" is "we" there)."""
    ref, hyp = normalize_text(reference, False).split(), normalize_text(hypothesis, False).split()
    key = str.lower if lowercase else str
    ref_keys, hyp_keys = [key(w) for w in ref], [key(w) for w in hyp]
    parts, missed, inserted = [], [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ref_keys, b=hyp_keys, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(html.escape(" ".join(hyp[j1:j2])))
            continue
        if i2 > i1:
            missed += ref_keys[i1:i2]
            parts.append(f"<del>{html.escape(' '.join(ref[i1:i2]))}</del>")
        if j2 > j1:
            inserted += hyp_keys[j1:j2]
            parts.append(f"<ins>{html.escape(' '.join(hyp[j1:j2]))}</ins>")
    return " ".join(parts), missed, inserted


def _curves_svg(run_dir: Path) -> str:
    """Training loss and validation BLEU-4 as two inline SVG polylines (no plotting library, no image file)."""
    path = run_dir / run_folder.METRICS_FILE
    if not path.is_file():
        return "<p>No metrics.jsonl next to the checkpoint: no training curves.</p>"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    charts = []
    for kind, key, label in (("train", "loss", "training loss (nats/token)"), ("val", "bleu4", "validation BLEU-4")):
        points = [(r["step"], r[key]) for r in rows if r.get("kind") == kind and isinstance(r.get(key), int | float)]
        if len(points) < 2:
            charts.append(f"<figure><figcaption>{label}: fewer than two points</figcaption></figure>")
            continue
        (x0, x1), (y0, y1) = (min(p[0] for p in points), max(p[0] for p in points)), (min(p[1] for p in points), max(p[1] for p in points))
        line = " ".join(f"{10 + 380 * (x - x0) / max(1e-9, x1 - x0):.1f},{150 - 130 * (y - y0) / max(1e-9, y1 - y0):.1f}"
                        for x, y in points)
        charts.append(f'<figure><svg viewBox="0 0 400 160" width="400" height="160" role="img" aria-label="{label}">'
                      f'<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="{line}"/></svg>'
                      f"<figcaption>{label}: steps {x0}-{x1}, from {points[0][1]:.3g} to {points[-1][1]:.3g} "
                      f"(range {y0:.3g}-{y1:.3g})</figcaption></figure>")
    return "".join(charts)


def build_rows(eval_dir: Path, prepared_dir: Path | None, thumbnails: int, frames_per_strip: int,
               lowercase: bool = False) -> list[ClipRow]:
    from sacrebleu.metrics import CHRF

    clips = [json.loads(line) for line in (eval_dir / run_folder.EVAL_CLIPS_FILE).read_text(encoding="utf-8").splitlines() if line.strip()]
    records, storage = {}, "npy"
    if prepared_dir is not None and is_complete(prepared_dir):
        records = {r["id"]: r for r in load_manifest(prepared_dir)}
        storage = storage_format(prepared_dir)
    chrf = CHRF(lowercase=lowercase)
    rows = [ClipRow(c["id"], c["reference"], c["hypothesis"], float(c.get("sentence_bleu", sentence_bleu(c["hypothesis"], c["reference"], lowercase))),
                    chrf.sentence_score(c["hypothesis"], [c["reference"]]).score, int(records.get(c["id"], {}).get("frames") or 0), "")
            for c in clips]
    rows.sort(key=lambda r: (r.bleu, r.chrf, r.id))  # worst first
    for row in rows:
        row.diff, missed, inserted = word_diff(row.reference, row.hypothesis, lowercase)
        row.missed, row.inserted, row.exact = tuple(missed), tuple(inserted), not missed and not inserted
    for row in rows[:thumbnails]:
        record = records.get(row.id)
        if record is not None and prepared_dir is not None:
            path = clip_frames_path(prepared_dir, record["key"], storage)
            if path.is_file():
                row.thumbnails = frame_strip(path, frames_per_strip, 40)
                row.frames = row.frames or len(FrameFile(path))
    return rows


def _summaries(rows: list[ClipRow]) -> tuple[str, Counter, Counter]:
    missed: Counter = Counter()
    inserted: Counter = Counter()
    for row in rows:
        missed.update(row.missed)
        inserted.update(row.inserted)
    lines = []
    for low, high in LENGTH_BUCKETS:
        group = [r for r in rows if low <= len(r.reference.split()) <= high]
        if group:
            exact = sum(r.exact for r in group)
            name = f"{low}-{high} words" if high < 10**6 else f"{low}+ words"
            lines.append(f"<tr><td>{name}</td><td>{len(group)}</td><td>{exact} ({100 * exact / len(group):.1f}%)</td>"
                         f"<td>{sum(r.bleu for r in group) / len(group):.1f}</td></tr>")
    table = ("<table><thead><tr><th>reference length</th><th>clips</th><th>exact</th><th>mean sentence BLEU</th></tr></thead>"
             f"<tbody>{''.join(lines)}</tbody></table>")
    return table, missed, inserted


STYLE = """body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#111}table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f4f6;cursor:pointer}
del{background:#fee2e2;color:#991b1b}ins{background:#dcfce7;color:#166534;text-decoration:none}
figure{display:inline-block;margin:0 1em 1em 0}.num{text-align:right;font-variant-numeric:tabular-nums}
.words{columns:2}.small{color:#555;font-size:12px}img{display:block}"""

SCRIPT = """const q=document.getElementById('filter'),rows=[...document.querySelectorAll('#clips tbody tr')];
q.addEventListener('input',()=>{const t=q.value.toLowerCase();rows.forEach(r=>{r.hidden=t&&!r.dataset.text.includes(t)})});
document.querySelectorAll('#clips th[data-key]').forEach(th=>th.addEventListener('click',()=>{const k=th.dataset.key,
d=th.dataset.dir=th.dataset.dir==='asc'?'desc':'asc',b=document.querySelector('#clips tbody');rows.sort((x,y)=>{
const a=x.dataset[k],c=y.dataset[k],n=parseFloat(a)-parseFloat(c);return (isNaN(n)?a.localeCompare(c):n)*(d==='asc'?1:-1)});
rows.forEach(r=>b.appendChild(r))}));"""


def write_report(path: Path, out: Path | None = None, thumbnails: int = 300, frames_per_strip: int = 8) -> Path:
    """Write `report.html` for an evaluation (or a run folder's newest one); returns its path.

    Thumbnails are drawn for the `thumbnails` worst clips only (the file stays small on large splits)."""
    eval_dir = find_eval_dir(path)
    metrics = json.loads((eval_dir / run_folder.EVAL_METRICS_FILE).read_text(encoding="utf-8"))
    checkpoint = Path(metrics.get("checkpoint", ""))
    prepared = metrics.get("prepared_dir")
    run_dir = None
    if checkpoint.is_dir() and (checkpoint / "meta.json").is_file():
        run_dir = run_folder.run_dir_of(checkpoint)
        prepared = prepared or ckpt.read_meta(checkpoint).get("config", {}).get("data", {}).get("prepared_dir")
    prepared_dir = Path(prepared) if prepared else None
    rows = build_rows(eval_dir, prepared_dir, thumbnails, frames_per_strip, bool(metrics.get("lowercase")))
    length_table, missed, inserted = _summaries(rows)
    scores = "".join(f"<tr><td>{html.escape(name)}</td><td class=num>{s['value']:.2f}</td><td class=small>{html.escape(s['signature'])}</td></tr>"
                     for name, s in metrics.get("scores", {}).items())
    words = lambda counter: "".join(f"<li>{html.escape(w)} <span class=small>×{n}</span></li>" for w, n in counter.most_common(15))  # noqa: E731
    body = []
    for row in rows:
        image = f'<img src="{row.thumbnails}" alt="frames of {html.escape(row.id)}" height="40">' if row.thumbnails else ""
        text = html.escape(f"{row.id} {row.reference} {row.hypothesis}".lower(), quote=True)
        body.append(f'<tr data-id="{html.escape(row.id, quote=True)}" data-bleu="{row.bleu:.4f}" data-chrf="{row.chrf:.4f}" '
                    f'data-frames="{row.frames}" data-text="{text}"><td>{html.escape(row.id)}</td><td>{image}</td>'
                    f"<td>{html.escape(row.reference)}<br>{row.diff}</td><td class=num>{row.bleu:.1f}</td>"
                    f"<td class=num>{row.chrf:.1f}</td><td class=num>{row.frames or ''}</td></tr>")
    capped = (f"<p class=small>Frame strips for the {thumbnails} worst clips only (of {len(rows)}), to keep the file small; "
              "`isltk report --thumbnails N` draws more.</p>") if len(rows) > thumbnails else ""
    page = f"""<!doctype html><html lang=en><head><meta charset=utf-8><title>isltk report: {html.escape(metrics.get('split', ''))}</title>
<style>{STYLE}</style></head><body>
<h1>Where the translator fails: {html.escape(metrics.get('split', '?'))} split, {len(rows)} clips</h1>
<p class=small>checkpoint {html.escape(str(checkpoint))}; beam {metrics.get('beam')}, alpha {metrics.get('alpha')};
evaluation {html.escape(str(eval_dir))}. Scores on {html.escape(metrics.get('text', 'the normalised text'))}.</p>
<table><thead><tr><th>metric</th><th>value</th><th>sacrebleu signature</th></tr></thead><tbody>{scores}</tbody></table>
<h2>Training</h2>{_curves_svg(run_dir) if run_dir else '<p>checkpoint not found: no training curves.</p>'}
<h2>By sentence length</h2>{length_table}
<h2>Words</h2><div class=words><div><h3>most often missed</h3><ol>{words(missed)}</ol></div>
<div><h3>most often inserted</h3><ol>{words(inserted)}</ol></div></div>
<h2>Clips, worst first</h2><p class=small>Sentence BLEU (sacrebleu, exp smoothing) and chrF per clip; the hypothesis under the
reference with <del>missed</del> and <ins>inserted</ins> words. Click a header to sort; type to filter (needs JavaScript).</p>
<input id=filter placeholder="filter by id or words" size=40>{capped}
<table id=clips><thead><tr><th data-key=id>clip</th><th>frames the model saw</th><th>reference / hypothesis</th>
<th data-key=bleu>BLEU</th><th data-key=chrf>chrF</th><th data-key=frames>length (frames)</th></tr></thead>
<tbody>{''.join(body)}</tbody></table><script>{SCRIPT}</script></body></html>"""
    target = out or eval_dir / run_folder.REPORT_FILE
    atomic_write_bytes(target, page.encode("utf-8"))
    return target
