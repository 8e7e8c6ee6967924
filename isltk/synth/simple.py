"""A synthetic sign corpus: real video files, each gloss a distinct visual gesture.

Nothing here is real signing. Each gloss is a "hand" (a coloured shape) moving along its own path
in front of a cartoon signer; the clip signs the glosses in ISL-like order (TIME SUBJECT OBJECT
VERB) while the English target is SVO with tense and agreement ("yesterday she drank the tea"),
so a model must recognise signs *and* reorder/inflect. Test and validation sentences are word
combinations that never occur in training. Clip size, frame rate, timing, signer placement and
lighting vary per clip so a model must learn the gestures, not the generator's constants.
"""

from __future__ import annotations

import csv
import itertools
import multiprocessing
import random
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from isltk.synth.encode import write_video_opencv

TIMES = {"YESTERDAY": "past", "TOMORROW": "future", "": "present"}
SUBJECTS = {"I": ("i", 1), "YOU": ("you", 2), "HE": ("he", 3), "SHE": ("she", 3), "WE": ("we", 1), "THEY": ("they", 1)}
OBJECTS = {"WATER": "the water", "FOOD": "the food", "BOOK": "the book", "BALL": "the ball", "APPLE": "the apple", "TEA": "the tea"}
VERBS = {  # present (I/you/we/they), present 3rd person singular, past
    "EAT": ("eat", "eats", "ate"),
    "DRINK": ("drink", "drinks", "drank"),
    "READ": ("read", "reads", "read"),
    "WANT": ("want", "wants", "wanted"),
    "LIKE": ("like", "likes", "liked"),
    "SEE": ("see", "sees", "saw"),
}
GLOSSES = [g for g in TIMES if g] + list(SUBJECTS) + list(OBJECTS) + list(VERBS)
COLOURS = [(230, 60, 60), (60, 200, 60), (70, 110, 240), (240, 210, 50), (220, 80, 220)]  # RGB
SHAPES = ("circle", "square", "triangle", "cross")
SIZES = [(160, 120), (128, 128), (120, 160), (192, 108)]  # (width, height): landscape, square, portrait, 16:9
FPS_CHOICES = (20.0, 25.0, 30.0)


@dataclass(frozen=True)
class Gesture:
    colour: tuple[int, int, int]
    shape: str
    start: tuple[float, float]  # signer-relative (x, y): -1..1 around the chest
    end: tuple[float, float]


def gestures(seed: int = 0) -> dict[str, Gesture]:
    """Each gloss gets a unique (colour, shape) and its own path; fixed for a seed."""
    rng = random.Random(seed)
    table = {}
    for index, gloss in enumerate(GLOSSES):
        start = (rng.uniform(-1, 1), rng.uniform(-1, 0.6))
        end = (rng.uniform(-1, 1), rng.uniform(-1, 0.6))
        table[gloss] = Gesture(COLOURS[index % len(COLOURS)], SHAPES[index // len(COLOURS) % len(SHAPES)], start, end)
    return table


def english(time: str, subject: str, obj: str, verb: str) -> str:
    word, person = SUBJECTS[subject]
    present, third, past = VERBS[verb]
    tense = TIMES[time]
    form = past if tense == "past" else f"will {present}" if tense == "future" else third if person == 3 else present
    prefix = f"{time.lower()} " if time else ""
    return f"{prefix}{word} {form} {OBJECTS[obj]}"


def sentence_splits(seed: int, held_out_fraction: float = 0.12) -> dict[str, list[tuple[str, str, str, str]]]:
    """All TIME-SUBJECT-OBJECT-VERB combinations, split so val/test combinations never appear in train."""
    combos = list(itertools.product(TIMES, SUBJECTS, OBJECTS, VERBS))
    random.Random(seed).shuffle(combos)
    held = int(len(combos) * held_out_fraction)
    return {"test": combos[:held], "val": combos[held : 2 * held], "train": combos[2 * held :]}


def _draw_shape(canvas: np.ndarray, shape: str, centre: tuple[int, int], radius: int, colour: tuple[int, int, int]) -> None:
    x, y = centre
    if shape == "circle":
        cv2.circle(canvas, (x, y), radius, colour, -1, cv2.LINE_AA)
    elif shape == "square":
        cv2.rectangle(canvas, (x - radius, y - radius), (x + radius, y + radius), colour, -1)
    elif shape == "triangle":
        points = np.array([(x, y - radius), (x - radius, y + radius), (x + radius, y + radius)], np.int32)
        cv2.fillPoly(canvas, [points], colour, cv2.LINE_AA)
    else:
        bar = max(1, radius // 3)
        cv2.rectangle(canvas, (x - radius, y - bar), (x + radius, y + bar), colour, -1)
        cv2.rectangle(canvas, (x - bar, y - radius), (x + bar, y + radius), colour, -1)


def render_clip(glosses: list[str], rng: random.Random, table: dict[str, Gesture], sizes: list[tuple[int, int]] | None = None,
                fps_choices: tuple[float, ...] | None = None) -> tuple[list[np.ndarray], float]:
    """RGB frames of one signed sentence, and its frame rate."""
    width, height = rng.choice(sizes or SIZES)
    fps = rng.choice(fps_choices or FPS_CHOICES)
    unit = min(width, height)
    body = (width / 2 + rng.uniform(-0.06, 0.06) * width, height * rng.uniform(0.55, 0.62))
    scale = unit * rng.uniform(0.26, 0.32)
    background = np.array([rng.randint(20, 70) for _ in range(3)], np.uint8)
    skin = (rng.randint(150, 230), rng.randint(110, 170), rng.randint(80, 130))
    base = np.empty((height, width, 3), np.uint8)
    base[:] = background
    cv2.rectangle(base, (int(body[0] - 0.9 * scale), int(body[1])), (int(body[0] + 0.9 * scale), height), (90, 90, 110), -1)
    cv2.circle(base, (int(body[0]), int(body[1] - 0.55 * scale)), int(0.4 * scale), skin, -1, cv2.LINE_AA)
    radius = max(2, int(unit * rng.uniform(0.08, 0.1)))
    noise = np.random.default_rng(rng.randrange(2**32))
    frames: list[np.ndarray] = [base.copy() for _ in range(int(fps * rng.uniform(0.1, 0.3)))]
    for gloss in glosses:
        gesture = table[gloss]
        steps = int(fps * rng.uniform(0.45, 0.7))
        for step in range(steps):
            t = 0.5 - 0.5 * np.cos(np.pi * step / max(1, steps - 1))
            x = gesture.start[0] + t * (gesture.end[0] - gesture.start[0])
            y = gesture.start[1] + t * (gesture.end[1] - gesture.start[1])
            frame = base.copy()
            centre = (int(body[0] + x * scale * 1.6), int(body[1] + y * scale * 1.2))
            _draw_shape(frame, gesture.shape, centre, radius, gesture.colour)
            frames.append(frame)
        frames += [base.copy() for _ in range(int(fps * rng.uniform(0.08, 0.2)))]
    frames += [base.copy() for _ in range(int(fps * rng.uniform(0.1, 0.3)))]
    gain = rng.uniform(0.85, 1.15)
    out = []
    for frame in frames:
        jitter = noise.normal(0, 3, frame.shape)
        out.append(np.clip(frame.astype(np.float32) * gain + jitter, 0, 255).astype(np.uint8))
    return out, fps


def _render_and_write(job: tuple) -> None:  # type: ignore[type-arg]
    path, glosses, clip_seed, sizes, fps_choices = job
    frames, fps = render_clip(glosses, random.Random(clip_seed), gestures(), sizes, fps_choices)
    write_video_opencv(Path(path), frames, fps)


def write_corpus(out_dir: Path, render_and_write: Callable[[tuple], None], jobs: list[tuple], rows: list[dict],  # type: ignore[type-arg]
                 workers: int, on_clip: Callable[[], None] | None) -> Path:
    """Render every job (in spawned processes when workers > 1) and write sentences.csv; returns its path."""
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for _ in pool.map(render_and_write, jobs, chunksize=8):
                if on_clip:
                    on_clip()
    else:
        for job in jobs:
            render_and_write(job)
            if on_clip:
                on_clip()
    csv_path = out_dir / "sentences.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["video", "text", "split", "gloss"])
        writer.writeheader()
        writer.writerows(rows)
    return csv_path


def make_corpus(
    out_dir: Path,
    train_clips: int = 480,
    val_clips: int = 48,
    test_clips: int = 48,
    seed: int = 0,
    workers: int = 1,
    on_clip: Callable[[], None] | None = None,
    sizes: list[tuple[int, int]] | None = None,
    fps_choices: tuple[float, ...] | None = None,
) -> Path:
    """Write `videos/*.mp4`, `sentences.csv` (video,text,split,gloss) and a README; returns the CSV path."""
    video_dir = out_dir / "videos"
    video_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    combos = sentence_splits(seed)
    jobs, rows = [], []
    for split, count in (("train", train_clips), ("val", val_clips), ("test", test_clips)):
        for index in range(count):
            time, subject, obj, verb = combos[split][index % len(combos[split])] if split != "train" else rng.choice(combos[split])
            glosses = [g for g in (time, subject, obj, verb) if g]
            name = f"{split}_{index:05d}.mp4"
            jobs.append((str(video_dir / name), glosses, rng.randrange(2**31), sizes, fps_choices))
            rows.append({"video": name, "text": english(time, subject, obj, verb), "split": split, "gloss": " ".join(glosses)})
    csv_path = write_corpus(out_dir, _render_and_write, jobs, rows, workers, on_clip)
    (out_dir / "README.txt").write_text(
        "SYNTHETIC sign corpus made by `isltk synth` -- not real signing.\n"
        "Each gloss is a coloured shape moving along its own path; clips sign TIME SUBJECT OBJECT VERB,\n"
        "the English text is SVO. val/test sentences are combinations never seen in train.\n",
        encoding="utf-8",
    )
    return csv_path
