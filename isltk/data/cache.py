"""The prepared cache's layout: the one module that names its files and its format number.

    PREPARED_DIR/
      cache.json        summary, written last: its presence marks a complete cache (format, layout, counts)
      settings.json     the frame settings the clips were stored with (a cache with others is refused)
      manifest.jsonl    one record per usable clip, in CSV order
      splits/<split>.txt
      vocab.json        the target vocabulary (word or subword), from the train split only
      gloss_vocab.json  the gloss vocabulary, only when the corpus has glosses
      rejects.csv       rows that could not be used, with the reason
      clips/<key>.npy | <key>.jpgs.npz   frames (isltk.data.framestore), <key>.json their commit record
      clips/<key>.pose  keypoints at the stored frames (pose-format, isltk.data.keypoints), data.keypoints only
      clips/<key>.hands.jpgs.npz   two hand crops per stored frame (isltk.data.hands), data.hand_crop_px only
      features/         per-frame features of a frozen backbone (isltk.training.features)

Everything else asks this module for a path or a record list, so a new file or a format change is
made here once. A cache of another format number is refused with one line: re-run prepare.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from isltk.data.framestore import SUFFIX as FRAME_SUFFIXES
from isltk.data.framestore import frame_path
from isltk.data.hands import hands_path
from isltk.data.keypoints import SUFFIX as KEYPOINT_SUFFIX
from isltk.data.keypoints import keypoints_path
from isltk.data.vocab import TextVocabulary, Vocabulary, load_vocabulary
from isltk.errors import DataError

# 2: every manifest record has `frames` and `gloss`; settings.json always names the storage.
CACHE_FORMAT = 2
SUMMARY_FILE = "cache.json"
SETTINGS_FILE = "settings.json"
MANIFEST_FILE = "manifest.jsonl"
VOCAB_FILE = "vocab.json"
GLOSS_VOCAB_FILE = "gloss_vocab.json"
REJECTS_FILE = "rejects.csv"
CLIPS_DIR = "clips"
SPLITS_DIR = "splits"
FEATURES_DIR = "features"
SPLITS = ("train", "val", "test")
RECORD_SUFFIX = ".json"  # clips/<key>.json: a prepared clip's commit record
REJECT_SUFFIX = ".reject.json"  # clips/<key>.reject.json: a clip that could not be used


def clips_dir(prepared_dir: Path) -> Path:
    return prepared_dir / CLIPS_DIR


def record_path(clips: Path, key: str) -> Path:
    """A prepared clip's commit record (written after its frames)."""
    return clips / f"{key}{RECORD_SUFFIX}"


def reject_path(clips: Path, key: str) -> Path:
    """A clip that could not be used, remembered so it is not decoded again."""
    return clips / f"{key}{REJECT_SUFFIX}"


def recorded_keys(clips: Path) -> list[str]:
    """Keys of the clips with a commit record, sorted."""
    return sorted(p.name[: -len(RECORD_SUFFIX)] for p in clips.glob(f"*{RECORD_SUFFIX}") if not p.name.endswith(REJECT_SUFFIX))


def is_clip_file(name: str) -> bool:
    """Whether a file name under clips/ is one prepare writes (frames, commit records, rejects, their temp files):
    `prepare --force` deletes only these."""
    if name.startswith(".") and ".tmp-" in name:
        return True
    return name.endswith((RECORD_SUFFIX, REJECT_SUFFIX, KEYPOINT_SUFFIX, *FRAME_SUFFIXES.values()))


def split_list_path(prepared_dir: Path, split: str) -> Path:
    return prepared_dir / SPLITS_DIR / f"{split}.txt"


def is_complete(prepared_dir: Path) -> bool:
    return (prepared_dir / SUMMARY_FILE).is_file() and (prepared_dir / MANIFEST_FILE).is_file()


def read_summary(prepared_dir: Path) -> dict[str, Any]:
    """cache.json of a complete cache of this format; one-line errors otherwise."""
    if not is_complete(prepared_dir):
        raise DataError(f"{prepared_dir}: no complete prepared cache here; run `isltk prepare` with this config first")
    summary = json.loads((prepared_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
    if summary.get("format") != CACHE_FORMAT:
        raise DataError(f"{prepared_dir}: prepared by another isltk version (cache format {summary.get('format')}, "
                        f"this version reads {CACHE_FORMAT}); re-run `isltk prepare --force` with this config")
    return summary


def read_settings(prepared_dir: Path) -> dict[str, Any] | None:
    """settings.json (the frame settings), or None when the folder has none yet."""
    path = prepared_dir / SETTINGS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def settings_text(prepared_dir: Path) -> str:
    """settings.json as stored (it fingerprints the frames), empty when absent."""
    path = prepared_dir / SETTINGS_FILE
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def load_manifest(prepared_dir: Path, split: str | None = None) -> list[dict]:
    """The manifest records (all, or one split's), in CSV order."""
    read_summary(prepared_dir)
    records = [json.loads(line) for line in (prepared_dir / MANIFEST_FILE).read_text(encoding="utf-8").splitlines()
               if line.strip()]
    return records if split is None else [r for r in records if r["split"] == split]


def manifest_text(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def storage_format(prepared_dir: Path) -> str:
    """How the clips' frames are stored: `npy` or `jpeg` (settings.json)."""
    settings = read_settings(prepared_dir)
    if settings is None or "cache_format" not in settings:
        raise DataError(f"{prepared_dir}: {SETTINGS_FILE} missing or from another isltk version; "
                        "re-run `isltk prepare --force` with this config")
    return settings["cache_format"]


def clip_frames_path(prepared_dir: Path, key: str, fmt: str) -> Path:
    return frame_path(clips_dir(prepared_dir), key, fmt)


def clip_keypoints_path(prepared_dir: Path, key: str) -> Path:
    return keypoints_path(clips_dir(prepared_dir), key)


def inputs(prepared_dir: Path) -> tuple[bool, str, int]:
    """(frames stored, keypoints mode: none | mediapipe | pose_files, hand crop side in px or 0) of a cache."""
    settings = read_settings(prepared_dir) or {}
    return bool(settings.get("pixels", True)), str(settings.get("keypoints", "none")), int(settings.get("hand_crop_px", 0))


def clip_hands_path(prepared_dir: Path, key: str) -> Path:
    return hands_path(clips_dir(prepared_dir), key)


def load_text_vocabulary(prepared_dir: Path) -> TextVocabulary:
    return load_vocabulary(prepared_dir / VOCAB_FILE)


def has_glosses(prepared_dir: Path) -> bool:
    return (prepared_dir / GLOSS_VOCAB_FILE).is_file()


def load_gloss_vocabulary(prepared_dir: Path) -> Vocabulary | None:
    """The gloss vocabulary, or None when the corpus has no glosses."""
    return Vocabulary.load(prepared_dir / GLOSS_VOCAB_FILE) if has_glosses(prepared_dir) else None
