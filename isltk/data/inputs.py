"""Which inputs a run reads when `data.keypoints: auto`: the corpus's `.pose` files where it ships them, else frames.

A preset should read the hands where a corpus has keypoints (iSign ships a pose-format file per clip) and still
start on one that has none (a folder of videos and a CSV). `auto` is that choice, made once, from the files:
`prepare` resolves it (keypoints `pose_files` when every usable row has its `.pose` file, else `none`, and then
no hand crops, which the keypoints would place) and stores the result in the cache's settings; `train` and
`check-hardware` read it back from there, so the checkpoint's config names what the model was built to read and
`translate` prepares a new clip the same way. A corpus with some `.pose` files missing is read as frames only
and the line says how many are missing: a model that reads keypoints needs them for every clip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from isltk.config import Config, DataConfig
from isltk.data import cache, keypoints
from isltk.data.layouts import SourceRow, read_rows
from isltk.errors import IsltkError


@dataclass(frozen=True)
class ResolvedInputs:
    config: Config  # data.keypoints never "auto" here
    line: str  # how auto was resolved, e.g. "auto -> pose_files: every one of 1500 clips has a .pose file"; "" if not auto


def pose_source(row: SourceRow, data: DataConfig) -> Path:
    """The row's pose-format file (keypoints pose_files): its video's path under data.pose_dir, ending .pose."""
    try:
        relative = row.source.relative_to(Path(os.path.abspath(data.video_dir)))
    except ValueError:
        relative = Path(row.source.name)
    return Path(os.path.abspath(data.poses_dir)) / relative.with_suffix(keypoints.SUFFIX)


def with_keypoints(config: Config, mode: str, hand_crop_px: int | None = None) -> Config:
    """`config` reading keypoints `mode`; without keypoints, no hand crops (nothing places them)."""
    data = config.data
    crops = data.hand_crop_px if hand_crop_px is None else hand_crop_px
    update = {"keypoints": mode, "hand_crop_px": crops if mode != "none" else 0,
              "keypoint_stream": data.keypoint_stream if mode != "none" else True}
    return config.model_copy(update={"data": data.model_copy(update=update)})


def resolve_for_rows(config: Config, rows: list[SourceRow]) -> ResolvedInputs:
    """`prepare`'s choice: pose_files when every row has its `.pose` file, else frames only."""
    data = config.data
    if data.keypoints != "auto":
        return ResolvedInputs(config, "")
    missing = [path for path in (pose_source(row, data) for row in rows) if not path.is_file()]
    if rows and not missing:
        return ResolvedInputs(with_keypoints(config, "pose_files"),
                              f"auto -> pose_files: every one of {len(rows)} clips has a .pose file under {data.poses_dir}")
    shown = f" (e.g. {missing[0]})" if missing else ""
    return ResolvedInputs(with_keypoints(config, "none"),
                          f"auto -> none (frames only): {len(missing)} of {len(rows)} clips have no .pose file under "
                          f"{data.poses_dir}{shown}")


def resolve(config: Config) -> ResolvedInputs:
    """`train`'s and `check-hardware`'s choice: what `prepare` stored in data.prepared_dir; before any prepare, what
    it would choose from the CSV and the files; where neither can be read, keypoints and hand crops (a plan that
    counts every stream: the upper bound)."""
    data = config.data
    if data.keypoints != "auto":
        return ResolvedInputs(config, "")
    stored = cache.read_settings(data.prepared_dir)
    if stored is not None:
        _, mode, crops = cache.inputs(data.prepared_dir)
        return ResolvedInputs(with_keypoints(config, mode, crops), f"auto -> {mode}, as prepared in {data.prepared_dir}")
    try:
        rows = read_rows(data)[0]
    except (IsltkError, OSError) as exc:
        return ResolvedInputs(with_keypoints(config, "pose_files"),
                              f"auto, counted with keypoints and hand crops (not prepared yet, and {exc})")
    return resolve_for_rows(config, rows)
