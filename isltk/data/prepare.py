"""Build the prepared cache: one memory-mappable uint8 frame tensor per clip, plus manifest, splits,
vocabulary and a report of rejected rows.

Crash safety and resume: each clip's tensor is written to a temp file, fsynced and renamed, and
only then its record (`clips/<key>.json`) is written the same way; the record is the commit
marker. A re-run trusts a clip only if its record exists and its source file is unchanged (size
and mtime), so a killed run continues where it stopped and a complete cache is not decoded again.
Rejected clips are remembered the same way, so a bad file is not re-decoded on every run.
Manifest, splits and vocabulary are derived from the records at the end, in CSV order, so an
interrupted-then-resumed run ends byte-identical to an uninterrupted one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from isltk.config import Config, DataConfig
from isltk.data import cache, hands, holistic, keypoints
from isltk.data.framestore import FrameFile, frame_path, write_frames
from isltk.data.inputs import pose_source, resolve_for_rows
from isltk.data.layouts import RowReject, SourceRow, image_frames, read_rows
from isltk.data.subword import SubwordVocabulary
from isltk.data.supervision import run_sign_labels
from isltk.data.text import normalize_text, tokenize
from isltk.data.video import (
    IMAGE_FOLDER_FPS,
    DecodedClip,
    FrameSampling,
    VideoDecodeError,
    decode_image_folder,
    decode_video,
)
from isltk.data.vocab import TextVocabulary, Vocabulary
from isltk.errors import ConfigError, DataError
from isltk.fsutil import LOCK_FILE, FolderLock, atomic_write_bytes, atomic_write_json, remove_stale_temps

LATER_DEFAULTS = {"keypoints": "none", "pixels": True, "hand_crop_px": 0}  # settings.json leaves these out at their defaults


@dataclass(frozen=True)
class FrameSettings:
    """What determines the stored tensors; a cache built with other settings is not reused."""

    frames: int | None  # fixed-count mode; None when sampled by time
    image_size: int
    resize_mode: str
    min_decoded_fraction: float
    sample_fps: float | None = None
    min_frames: int | None = None
    max_frames: int | None = None
    cache_format: str = "npy"  # storage only: a cache that differs in these two is converted, not decoded again
    jpeg_quality: int | None = None
    keypoints: str = "none"  # data.keypoints: none | mediapipe | pose_files
    pixels: bool = True  # frames stored (false: a pose-only cache)
    hand_crop_px: int = 0  # a crop per hand per frame (isltk.data.hands); 0 = none

    @classmethod
    def from_data(cls, data: DataConfig) -> FrameSettings:
        storage = {"cache_format": data.cache_format, "jpeg_quality": data.jpeg_quality if data.cache_format == "jpeg" else None,
                   "keypoints": data.keypoints, "pixels": data.pixels, "hand_crop_px": data.hand_crop_px}
        if data.time_based:
            return cls(None, data.image_size, data.resize_mode, data.min_decoded_fraction, data.sample_fps,
                       data.min_frames, data.max_frames, **storage)
        return cls(data.stored_frames, data.image_size, data.resize_mode, data.min_decoded_fraction, **storage)

    def fingerprint(self) -> dict[str, Any]:
        """settings.json's fields. The keypoint fields only when they differ from the defaults, so a cache
        prepared before keypoints existed stays valid."""
        fields = asdict(self)
        for name, default in LATER_DEFAULTS.items():
            if fields[name] == default:
                del fields[name]
        return fields

    @property
    def sampling(self) -> FrameSampling:
        if self.sample_fps is not None:
            return FrameSampling(None, self.sample_fps, self.min_frames or 1, self.max_frames or 4096)
        return FrameSampling(self.frames)


@dataclass
class ClipOutcome:
    clip_id: str
    status: str  # "prepared" | "reused" | "rejected"
    reason: str = ""
    seconds: float = 0.0


@dataclass
class PrepareReport:
    out_dir: Path
    layout: str
    total_rows: int
    prepared: int = 0
    reused: int = 0
    rejects: list[RowReject] = field(default_factory=list)
    split_counts: dict[str, int] = field(default_factory=dict)
    vocab_size: int = 0
    tokenizer: str = "word"
    gloss_vocab_size: int = 0
    supervision: str = ""  # the sign labels `train` will use with this config (glosses / pseudo-glosses / none)
    converted: int = 0  # clips re-stored in another cache_format without decoding their videos
    target_tokens_p99: int = 0  # 99th percentile of target length in tokens, BOS and EOS included
    targets_over_max_length: int = 0  # targets longer than decoder.max_length: training cuts them there
    max_length: int = 0
    keypoints: str = "none"  # data.keypoints, resolved (never auto)
    keypoints_choice: str = ""  # data.keypoints auto: which it became and why (isltk.data.inputs)
    hands_found: float | None = None  # keypoints: the share of stored frames with at least one hand found, over all clips
    seconds: float = 0.0

    @property
    def usable(self) -> int:
        return self.prepared + self.reused


MAX_KEY_LENGTH = 120  # + the longest suffix and a temp file's prefix stays far below 255 bytes


def clip_key(clip_id: str) -> str:
    """A safe file name for an id; ids that need changing get a hash suffix so keys never collide."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", clip_id).lstrip(".") or "clip"
    if safe != clip_id or len(safe) > MAX_KEY_LENGTH:  # a long id too: file names stop at 255 bytes
        safe = f"{safe[:80]}-{hashlib.sha1(clip_id.encode()).hexdigest()[:8]}"
    return safe


def source_signature(row: SourceRow, settings: FrameSettings | None = None, pose: Path | None = None) -> list[int]:
    """Size and mtime of the source (or of its frame images) and of its pose file, to notice a replaced file on re-runs."""
    paths = [] if settings is not None and not settings.pixels else image_frames(row.source) if row.is_image_folder else [row.source]
    paths += [pose] if pose is not None else []
    try:
        stats = [p.stat() for p in paths]
    except OSError:
        return [-1, -1]
    return [sum(s.st_size for s in stats), max((s.st_mtime_ns for s in stats), default=0), len(stats)]


def ratio_split(clip_id: str, data: DataConfig) -> str:
    """Seeded, order-independent split: a clip's split never changes when rows are added or resumed."""
    digest = hashlib.sha256(f"{data.split_seed}:{clip_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < data.test_fraction:
        return "test"
    if u < data.test_fraction + data.val_fraction:
        return "val"
    return "train"


def _decode_row(row: SourceRow, settings: FrameSettings) -> DecodedClip:
    raw = settings.keypoints == "mediapipe" or settings.hand_crop_px > 0  # the detector and the crops read full-size frames
    if row.is_image_folder:
        return decode_image_folder(image_frames(row.source), settings.sampling, settings.image_size, settings.resize_mode,
                                   keep_raw=raw)
    return decode_video(row.source, settings.sampling, settings.image_size, settings.resize_mode, settings.min_decoded_fraction,
                        threads=1, keep_raw=raw)


def _reject(clips_dir: Path, row: SourceRow, reason: str, signature: list[int], start: float) -> ClipOutcome:
    atomic_write_json(cache.reject_path(clips_dir, clip_key(row.clip_id)), {"id": row.clip_id, "reason": reason, "signature": signature})
    return ClipOutcome(row.clip_id, "rejected", reason, time.perf_counter() - start)


def _stored_pose(row: SourceRow, settings: FrameSettings, pose_path: Path | None, clip: DecodedClip | None) -> tuple[Any, DecodedClip]:
    """The keypoints to store for a row, sampled at the stored frames' times (pose_files), and the clip's timing.
    A pose-only row's timing comes from its pose file; pixels' from the video."""
    assert pose_path is not None
    pose = keypoints.read_pose(pose_path)
    picked = keypoints.sampled(pose, settings.sampling, clip.frames.shape[0] if clip is not None else None)
    if clip is None:
        dims, count, fps = pose.header.dimensions, int(pose.body.data.shape[0]), float(pose.body.fps) or IMAGE_FOLDER_FPS
        frames = np.zeros((picked.body.data.shape[0], 0, 0, 3), np.uint8)
        clip = DecodedClip(frames, count, fps, count / fps, int(dims.width), int(dims.height))
    return picked, clip


def prepare_one(row: SourceRow, settings: FrameSettings, clips_dir: Path, signature: list[int], lowercase: bool,
                pose_path: Path | None = None) -> ClipOutcome:
    """Decode one row (its frames and/or keypoints) into `clips_dir`; runs in a worker process. Never raises for bad inputs."""
    start = time.perf_counter()
    key = clip_key(row.clip_id)
    try:
        clip = _decode_row(row, settings) if settings.pixels else None
        pose = None
        if settings.keypoints == "pose_files":
            pose, clip = _stored_pose(row, settings, pose_path, clip)
        elif settings.keypoints == "mediapipe":
            assert clip is not None and clip.raw is not None
            pose = holistic.extract(clip.raw, len(clip.raw) / clip.duration_s)  # the stored frames' rate
        crops = None
        if settings.hand_crop_px:
            assert clip is not None and clip.raw is not None and pose is not None
            crops = hands.clip_crops(clip.raw, *keypoints.model_points(pose), settings.hand_crop_px)
        if clip is not None:
            clip.raw = None
    except (VideoDecodeError, DataError) as exc:
        return _reject(clips_dir, row, str(exc), signature, start)
    except Exception as exc:  # OpenCV can raise cv2.error on damaged streams; keep the run alive
        return _reject(clips_dir, row, f"decoder error: {type(exc).__name__}: {exc}".strip(), signature, start)
    assert clip is not None
    extra: dict[str, Any] = {}
    if crops is not None:  # JPEG like the frames; frame t's crops are stored images 2t (left hand) and 2t + 1
        write_frames(hands.hands_path(clips_dir, key), crops.reshape(-1, *crops.shape[2:]), "jpeg", settings.jpeg_quality or 90)
    if pose is not None:
        keypoints.write_pose(keypoints.keypoints_path(clips_dir, key), pose)
        extra["hands_found"] = round(keypoints.hands_found(keypoints.model_points(pose)[1]), 4)
    if settings.pixels:
        write_frames(frame_path(clips_dir, key, settings.cache_format), clip.frames, settings.cache_format, settings.jpeg_quality or 90)
    record = {
        "id": row.clip_id,
        "key": key,
        "source": str(row.source),
        "text": row.text,
        "text_norm": normalize_text(row.text, lowercase),
        "gloss": normalize_gloss(row.gloss),
        "frames": int(clip.frames.shape[0]),
        "source_frames": clip.source_frames,
        "fps": round(clip.fps, 4),
        "duration_s": round(clip.duration_s, 4),
        "width": clip.width,
        "height": clip.height,
        **extra,
        "signature": signature,
    }
    (cache.reject_path(clips_dir, key)).unlink(missing_ok=True)
    atomic_write_json(cache.record_path(clips_dir, key), record)
    return ClipOutcome(row.clip_id, "prepared", "", time.perf_counter() - start)


def normalize_gloss(gloss: str) -> str:
    """Glosses as space-separated upper-case tokens (PHOENIX writes them upper-case already)."""
    return " ".join(gloss.upper().split())


def _existing(clips_dir: Path, row: SourceRow, signature: list[int], shape: tuple[int, ...], settings: FrameSettings) -> tuple[str, str] | None:
    """("reused", "") or ("rejected", reason) when an earlier run already settled this row."""
    key = clip_key(row.clip_id)
    record_path, reject_path = cache.record_path(clips_dir, key), cache.reject_path(clips_dir, key)
    if record_path.is_file():
        record = json.loads(record_path.read_text(encoding="utf-8"))
        tensor = frame_path(clips_dir, key, settings.cache_format)
        same_source = record.get("signature") == signature and record.get("text") == row.text
        has_keypoints = settings.keypoints == "none" or keypoints.keypoints_path(clips_dir, key).is_file()
        has_keypoints = has_keypoints and (not settings.hand_crop_px or hands.hands_path(clips_dir, key).is_file())
        if same_source and record.get("gloss", "") == normalize_gloss(row.gloss) and has_keypoints:
            if not settings.pixels:
                return "reused", ""
            stored = FrameFile(tensor).shape if tensor.is_file() else (0,)
            if stored[1:] == shape[1:] and (shape[0] == -1 or stored[0] == shape[0]):  # -1: any length (time-based)
                return "reused", ""
    elif reject_path.is_file():
        reject = json.loads(reject_path.read_text(encoding="utf-8"))
        if reject.get("signature") == signature:
            return "rejected", reject["reason"]
    return None


STORAGE_KEYS = ("cache_format", "jpeg_quality")


def _check_settings(out_dir: Path, settings: FrameSettings, force: bool, choice: str = "") -> int:
    """Refuse a cache built with other frame settings; convert one that differs only in storage (returns clips converted).
    `choice`: how data.keypoints auto was resolved, said with a refusal it caused (e.g. a .pose file now missing)."""
    settings_path = out_dir / cache.SETTINGS_FILE
    wanted = {"format": cache.CACHE_FORMAT, **settings.fingerprint()}
    converted = 0
    found = cache.read_settings(out_dir)
    if found is not None and not force:
        old, new = {**LATER_DEFAULTS, **found}, {**LATER_DEFAULTS, **wanted}
        if old != new and all(old.get(k) == v for k, v in new.items() if k not in STORAGE_KEYS):
            converted = convert_storage(cache.clips_dir(out_dir), found["cache_format"], settings)  # same frames, another storage
        elif old != new:
            changed = ", ".join(f"{k}: {old.get(k)} -> {v}" for k, v in new.items() if old.get(k) != v)
            raise DataError(
                f"{out_dir}: prepared with other settings ({changed}{'; data.keypoints ' + choice if choice else ''}); "
                "choose another data.prepared_dir or re-run with --force to rebuild it"
            )
    if force and cache.clips_dir(out_dir).is_dir():
        for path in cache.clips_dir(out_dir).iterdir():
            if path.is_file() and cache.is_clip_file(path.name):  # only what prepare wrote
                path.unlink()
    atomic_write_json(settings_path, wanted)
    return converted


def convert_storage(clips_dir: Path, old_format: str, settings: FrameSettings) -> int:
    """Re-store every prepared clip in the wanted format without decoding any video; returns clips converted.

    Crash-safe: a clip's new file is written (atomically) before its old one is removed, and a re-run
    converts whatever still has an old file."""
    converted = 0
    for key in cache.recorded_keys(clips_dir):
        old, new = frame_path(clips_dir, key, old_format), frame_path(clips_dir, key, settings.cache_format)
        if old.is_file():
            write_frames(new, FrameFile(old).read(), settings.cache_format, settings.jpeg_quality or 90)
            if old != new:
                old.unlink()
            converted += 1
    return converted


def _spawn_pool(workers: int) -> ProcessPoolExecutor:
    # spawn, not fork: the parent may run rich's refresh thread, and forking a threaded process can deadlock.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet_worker)


def _quiet_worker() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core does the parallelism; threads inside would oversubscribe


Job = tuple[SourceRow, list[int], "Path | None"]  # a row, its source signature, its pose file (pose_files)


def _run_jobs(jobs: list[Job], settings: FrameSettings, clips_dir: Path, lowercase: bool, workers: int) -> Iterator[ClipOutcome]:
    if workers <= 1 or len(jobs) <= 1:
        for row, signature, pose in jobs:
            yield prepare_one(row, settings, clips_dir, signature, lowercase, pose)
        return
    with _spawn_pool(min(workers, len(jobs))) as pool:
        futures = [pool.submit(prepare_one, row, settings, clips_dir, signature, lowercase, pose) for row, signature, pose in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def prepare_cache(
    config: Config,
    workers: int | None = None,
    force: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_clip: Callable[[ClipOutcome], None] | None = None,
) -> PrepareReport:
    """Decode every usable row of the CSV into `data.prepared_dir`; see the module docstring."""
    started = time.perf_counter()
    rows, row_rejects, layout = read_rows(config.data)  # CSV problems fail here, before any video work
    resolved = resolve_for_rows(config, rows)  # data.keypoints auto: the .pose files if every clip has one
    config, data = resolved.config, resolved.config.data
    if data.pixels and not data.video_dir.is_dir():
        raise DataError(f"{data.video_dir}: video folder not found (set data.video_dir)")
    if data.keypoints == "mediapipe":
        holistic.require_mediapipe()
    if data.keypoints == "pose_files" and not data.poses_dir.is_dir():
        raise DataError(f"{data.poses_dir}: pose folder not found (set data.pose_dir, or data.video_dir for a pose-only corpus)")
    out_dir, settings = data.prepared_dir, FrameSettings.from_data(data)
    lock = claim_cache(out_dir)
    try:
        return _prepare_locked(config, rows, row_rejects, layout, settings, workers, force, on_start, on_clip, started,
                               resolved.line)
    finally:
        lock.release()


def claim_cache(out_dir: Path) -> FolderLock:
    """Lock `out_dir` for this prepare, after checking that it is empty or an isltk cache: prepare writes and
    deletes files there, and must never touch a folder of someone else's files."""
    if out_dir.is_dir() and not (out_dir / cache.SETTINGS_FILE).is_file():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name != LOCK_FILE)
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise DataError(f"{out_dir}: not an isltk cache (it holds {shown}); prepare writes and deletes files in "
                            "data.prepared_dir, so choose an empty or new folder")
    return FolderLock(out_dir, "prepare")


def _prepare_locked(config: Config, rows: list[SourceRow], row_rejects: list[RowReject], layout: str, settings: FrameSettings,
                    workers: int | None, force: bool, on_start: Callable[[int, int], None] | None,
                    on_clip: Callable[[ClipOutcome], None] | None, started: float, choice: str) -> PrepareReport:
    data = config.data
    out_dir = data.prepared_dir
    clips_dir = cache.clips_dir(out_dir)
    clips_dir.mkdir(parents=True, exist_ok=True)
    converted = _check_settings(out_dir, settings, force, choice)
    remove_stale_temps(clips_dir)

    report = PrepareReport(out_dir, layout, len(rows) + len(row_rejects), rejects=list(row_rejects), converted=converted,
                           keypoints_choice=choice)
    shape = (settings.frames or -1, settings.image_size, settings.image_size, 3)
    jobs: list[Job] = []
    decode_rejects: dict[str, str] = {}
    for row in rows:
        pose = pose_source(row, data) if settings.keypoints == "pose_files" else None
        signature = source_signature(row, settings, pose)
        settled = _existing(clips_dir, row, signature, shape, settings)
        if settled is None:
            jobs.append((row, signature, pose))
        elif settled[0] == "reused":
            report.reused += 1
        else:
            decode_rejects[row.clip_id] = settled[1]
    if on_start:
        on_start(len(jobs), len(rows) - len(jobs))
    workers = workers or data.prepare_workers or os.cpu_count() or 1
    for outcome in _run_jobs(jobs, settings, clips_dir, data.lowercase, workers):
        if outcome.status == "prepared":
            report.prepared += 1
        else:
            decode_rejects[outcome.clip_id] = outcome.reason
        if on_clip:
            on_clip(outcome)

    records = _collect(rows, clips_dir, decode_rejects, report, data)
    report.keypoints = data.keypoints
    if data.keypoints != "none" and records:
        frames = sum(r["frames"] for r in records)
        report.hands_found = sum(r.get("hands_found", 0.0) * r["frames"] for r in records) / max(1, frames)
    vocab = _write_outputs(out_dir, records, report, data)
    try:
        report.supervision = run_sign_labels(config, records).describe()
    except ConfigError as exc:  # the cache is complete; `train` will refuse with the same words
        report.supervision = f"none: {exc}"
    lengths = sorted(len(vocab.target_ids(r)) for r in records)  # in the chosen tokenizer's tokens, BOS/EOS included
    if lengths:  # said out loud: a target longer than decoder.max_length is cut there in training
        report.target_tokens_p99 = lengths[min(len(lengths) - 1, int(0.99 * len(lengths)))]
        report.targets_over_max_length = sum(n > config.decoder.max_length for n in lengths)
        report.max_length = config.decoder.max_length
    report.seconds = time.perf_counter() - started
    return report


def _collect(rows: list[SourceRow], clips_dir: Path, decode_rejects: dict[str, str], report: PrepareReport, data: DataConfig) -> list[dict[str, Any]]:
    records = []
    for row in rows:
        if row.clip_id in decode_rejects:
            report.rejects.append(RowReject(row.clip_id, str(row.source), decode_rejects[row.clip_id], row.line))
            continue
        key = clip_key(row.clip_id)
        record = json.loads(cache.record_path(clips_dir, key).read_text(encoding="utf-8"))
        record.pop("signature", None)
        record["split"] = row.split or ratio_split(row.clip_id, data)
        records.append(record)
    report.rejects.sort(key=lambda r: r.line)
    return records


def build_vocabulary(records: list[dict[str, Any]], data: DataConfig) -> TextVocabulary:
    """The target vocabulary, from the train split only (val/test sentences never shape it)."""
    train = [r for r in records if r["split"] == "train"]
    if data.tokenizer == "bpe":
        return SubwordVocabulary.train((r["text"] for r in train), data.subword_vocab_size, data.lowercase)
    return Vocabulary.build((tokenize(r["text_norm"]) for r in train), data.min_token_count)


def _write_outputs(out_dir: Path, records: list[dict[str, Any]], report: PrepareReport, data: DataConfig) -> TextVocabulary:
    vocab = build_vocabulary(records, data)
    (out_dir / cache.SUMMARY_FILE).unlink(missing_ok=True)  # the summary marks a complete cache: written last
    atomic_write_bytes(out_dir / cache.MANIFEST_FILE, cache.manifest_text(records).encode("utf-8"))
    cache.split_list_path(out_dir, "train").parent.mkdir(exist_ok=True)
    for split in cache.SPLITS:
        ids = [r["id"] for r in records if r["split"] == split]
        report.split_counts[split] = len(ids)
        atomic_write_bytes(cache.split_list_path(out_dir, split), "".join(i + "\n" for i in ids).encode("utf-8"))
    atomic_write_bytes(out_dir / cache.VOCAB_FILE, vocab.to_json().encode("utf-8"))
    report.vocab_size, report.tokenizer = len(vocab), vocab.kind
    train_glosses = [r["gloss"].split() for r in records if r["split"] == "train" and r["gloss"]]
    gloss_path = out_dir / cache.GLOSS_VOCAB_FILE
    if train_glosses:  # index 0 (<pad>) doubles as the CTC blank
        atomic_write_bytes(gloss_path, Vocabulary.build(train_glosses).to_json().encode("utf-8"))
    else:
        gloss_path.unlink(missing_ok=True)
    report.gloss_vocab_size = len(Vocabulary.build(train_glosses)) if train_glosses else 0
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "id", "source", "reason"])
    for reject in report.rejects:
        writer.writerow([reject.line, reject.clip_id, reject.source, reject.reason])
    atomic_write_bytes(out_dir / cache.REJECTS_FILE, buffer.getvalue().encode("utf-8"))
    atomic_write_json(
        out_dir / cache.SUMMARY_FILE,
        {"format": cache.CACHE_FORMAT, "layout": report.layout, "clips": len(records), "rejected": len(report.rejects),
         "splits": report.split_counts, "vocab_size": len(vocab), **FrameSettings.from_data(data).fingerprint(),
         "lowercase": data.lowercase, "tokenizer": vocab.kind},
    )
    return vocab
