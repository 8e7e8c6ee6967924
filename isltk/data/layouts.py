"""Readers for the CSV layouts sign corpora ship with, all producing `SourceRow`s.

- generic:      `video,text[,split]` (column names configurable); `video` is a path under video_dir.
- isign:        iSign's `uid,text`; the video is `<uid>.mp4` (data.video_extension).
- isltranslate: ISLTranslate's `ISLTranslate.csv` has the same `uid,text` layout as iSign.
- phoenix:      PHOENIX-2014T `name|video|start|end|speaker|orth|translation` corpus files whose
                `video` is a glob of PNG frames; the split comes from the file name (.train/.dev/.test),
                and the sibling split files are read too.

Rows that cannot be used (empty text, duplicate id, a path escaping video_dir) become `RowReject`s;
a CSV that cannot be read or lacks its columns raises DataError before any video is touched.
"""

from __future__ import annotations

import csv
import glob
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from isltk.config import DataConfig
from isltk.errors import DataError

SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "dev": "val", "valid": "val",
                 "validation": "val", "test": "test", "testing": "test"}
PHOENIX_COLUMNS = ("name", "video", "start", "end", "speaker", "orth", "translation")
# Other names corpora use for the generic layout's columns, tried when the configured ones are absent.
VIDEO_ALIASES = ("video", "video_path", "video_file", "path", "file", "filename", "clip", "clip_path")
TEXT_ALIASES = ("text", "sentence", "translation", "english", "caption", "transcript", "transcription")
ID_COLUMNS = ("uid", "text")


@dataclass(frozen=True)
class SourceRow:
    clip_id: str
    source: Path  # a video file, or a glob of frame images for image-folder corpora
    text: str
    split: str | None
    line: int
    is_image_folder: bool = False
    gloss: str = ""  # space-separated glosses where the corpus has them (PHOENIX `orth`, a generic `gloss` column)


@dataclass(frozen=True)
class RowReject:
    clip_id: str
    source: str
    reason: str
    line: int


def _read_table(path: Path, delimiter: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, [(the physical line a record starts on, the record)]): a quoted field may span lines, so a
    record's number is not its line in an editor."""
    if not path.is_file():
        raise DataError(f"{path}: CSV not found (set data.csv_path)")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            header = [name.strip() for name in (reader.fieldnames or [])]
            reader.fieldnames = header
            rows = []
            for record in reader:  # line_num: the record's last line; its quoted fields hold the line breaks before
                breaks = sum(value.count("\n") for value in record.values() if isinstance(value, str))
                rows.append((reader.line_num - breaks, record))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the CSV as UTF-8") from None
    except csv.Error as exc:
        raise DataError(f"{path}: cannot parse as CSV ({exc})") from None
    if not header:
        raise DataError(f"{path}: empty CSV (no header row)")
    return header, rows


def detect_layout(path: Path, data: DataConfig) -> str:
    if data.layout != "auto":
        return data.layout
    first = _first_line(path)
    columns = [c.strip() for c in first.split("|")] if "|" in first else [c.strip() for c in next(csv.reader([first]))]
    if all(c in columns for c in ("name", "video", "translation")):
        return "phoenix"
    if data.video_column in columns and data.text_column in columns:
        return "generic"
    if all(c in columns for c in ID_COLUMNS):
        return "isign"
    if generic_columns(columns, data) is not None:
        return "generic"
    raise DataError(
        f"{path}: cannot tell the CSV layout from its columns {columns}; expected "
        f"'{data.video_column},{data.text_column}[,{data.split_column}]' (generic), 'uid,text' (iSign/ISLTranslate) "
        "or PHOENIX-2014T 'name|video|...|translation'; set data.layout or data.video_column/data.text_column"
    )


def _first_line(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"{path}: CSV not found (set data.csv_path)")
    try:
        with path.open(encoding="utf-8-sig") as handle:
            return handle.readline().strip()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the CSV as UTF-8") from None


def _alias(columns: list[str], configured: str, aliases: tuple[str, ...]) -> str | None:
    if configured in columns:
        return configured
    lowered = {c.lower(): c for c in columns}
    found = [lowered[a] for a in aliases if a in lowered]
    return found[0] if len(found) == 1 else None


def generic_columns(columns: list[str], data: DataConfig) -> tuple[str, str] | None:
    """(video column, text column): the configured names, else one unambiguous common alias each."""
    video, text = _alias(columns, data.video_column, VIDEO_ALIASES), _alias(columns, data.text_column, TEXT_ALIASES)
    return (video, text) if video and text and video != text else None


def _require(path: Path, header: list[str], needed: tuple[str, ...]) -> None:
    missing = [c for c in needed if c not in header]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; found {header}")


def _inside(video_dir: Path, relative: str) -> Path | None:
    """The path under video_dir, or None when the CSV's path would leave it (absolute or `..`).

    Checked lexically: a symlink that the user placed inside video_dir (a common way to assemble a
    corpus) is followed, but no CSV row can name a file outside the folder.
    """
    root = Path(os.path.abspath(video_dir))
    candidate = Path(os.path.normpath(root / relative))
    if not candidate.is_relative_to(root) or Path(relative).is_absolute():
        return None
    if not candidate.exists():  # "café" typed in the CSV (NFC) vs a file name stored decomposed (NFD, macOS)
        for form in ("NFC", "NFD"):
            variant = Path(os.path.normpath(root / unicodedata.normalize(form, relative)))
            if variant.exists():
                return variant
    return candidate


def read_rows(data: DataConfig) -> tuple[list[SourceRow], list[RowReject], str]:
    """All usable rows, the rejected ones with reasons, and the layout that was read."""
    layout = detect_layout(data.csv_path, data)
    if layout == "phoenix":
        raw = _phoenix_rows(data)
    else:
        raw = _tabular_rows(data, layout)
    rows: list[SourceRow] = []
    rejects: list[RowReject] = []
    first_line: dict[str, int] = {}
    for clip_id, relative, text, split, line, image_folder, gloss in raw:
        if not clip_id:
            rejects.append(RowReject("", relative, "empty id / video path", line))
            continue
        if clip_id in first_line:
            rejects.append(RowReject(clip_id, relative, f"duplicate id (first seen on line {first_line[clip_id]})", line))
            continue
        first_line[clip_id] = line
        if not text.strip():
            rejects.append(RowReject(clip_id, relative, "empty text", line))
            continue
        if split is not None and split not in SPLIT_ALIASES.values():
            rejects.append(RowReject(clip_id, relative, f"unknown split {split!r} (use train/val/test)", line))
            continue
        source = _inside(data.video_dir, relative)
        if source is None:
            rejects.append(RowReject(clip_id, relative, "path escapes data.video_dir (refused, not read)", line))
            continue
        rows.append(SourceRow(clip_id, source, text.strip(), split, line, image_folder, gloss.strip()))
    return rows, rejects, layout


RawRow = tuple[str, str, str, "str | None", int, bool, str]


def _split_value(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return SPLIT_ALIASES.get(value.strip().lower(), value.strip().lower())


def _tabular_rows(data: DataConfig, layout: str) -> list[RawRow]:
    header, table = _read_table(data.csv_path, ",")
    out: list[RawRow] = []
    if layout == "generic":
        columns = generic_columns(header, data)
        if columns is None:
            _require(data.csv_path, header, (data.video_column, data.text_column))
        video_column, text_column = columns or (data.video_column, data.text_column)
        has_split = data.split_column in header
        for line, row in table:
            video = (row.get(video_column) or "").strip()
            if video and not Path(video).suffix and not (data.video_dir / video).exists():
                video += data.video_extension  # ids given without extension
            clip_id = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", video)
            split = _split_value(row.get(data.split_column)) if has_split else None
            gloss = (row.get(data.gloss_column) or "") if data.gloss_column in header else ""
            out.append((clip_id, video, row.get(text_column) or "", split, line, False, gloss))
    else:  # isign / isltranslate
        _require(data.csv_path, header, ID_COLUMNS)
        has_split = data.split_column in header
        for line, row in table:
            uid = (row.get("uid") or "").strip()
            split = _split_value(row.get(data.split_column)) if has_split else None
            out.append((uid, uid + data.video_extension if uid else "", row.get("text") or "", split, line, False, ""))
    return out


def _phoenix_files(csv_path: Path) -> list[tuple[Path, str | None]]:
    match = re.search(r"\.(train|dev|test)\.", csv_path.name)
    if not match:
        return [(csv_path, None)]
    files = []
    for split in ("train", "dev", "test"):
        sibling = csv_path.with_name(csv_path.name.replace(f".{match.group(1)}.", f".{split}."))
        if sibling.is_file():
            files.append((sibling, SPLIT_ALIASES[split]))
    return files


def _phoenix_rows(data: DataConfig) -> list[RawRow]:
    out: list[RawRow] = []
    for path, split in _phoenix_files(data.csv_path):
        header, table = _read_table(path, "|")
        _require(path, header, ("name", "video", "translation"))
        for line, row in table:
            name = (row.get("name") or "").strip()
            pattern = _phoenix_pattern(data.video_dir, (row.get("video") or "").strip(), split)
            out.append((name, pattern, row.get("translation") or "", split, line, True, row.get("orth") or ""))
    return out


def _phoenix_pattern(video_dir: Path, pattern: str, split: str | None) -> str:
    """PHOENIX globs are `NAME/1/*.png` relative to the split folder; frames usually lie in `NAME/`."""
    folder = {"val": "dev"}.get(split or "", split or "")
    candidates = [pattern, f"{folder}/{pattern}", pattern.replace("/1/", "/"), f"{folder}/{pattern.replace('/1/', '/')}"]
    for candidate in candidates:
        if glob.glob(str(video_dir / candidate)):
            return candidate
    return pattern


def image_frames(pattern_path: Path) -> list[Path]:
    return sorted(Path(p) for p in glob.glob(str(pattern_path)))
