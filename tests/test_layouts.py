from pathlib import Path

import cv2
import pytest

from isltk.data.layouts import detect_layout, read_rows
from isltk.errors import DataError
from tests.conftest import ramp_frames, small_config, write_csv


def test_generic_layout_with_custom_columns(tmp_path: Path, video_dir: Path) -> None:
    write_csv(tmp_path / "s.csv", ["clip", "sentence", "part"], [["a/one.mp4", "Hello there.", "dev"], ["two.mp4", "Bye", ""]])
    cfg = small_config(tmp_path, csv_path=tmp_path / "s.csv")
    cfg.data.video_column, cfg.data.text_column, cfg.data.split_column = "clip", "sentence", "part"
    rows, rejects, layout = read_rows(cfg.data)
    assert layout == "generic" and not rejects
    assert [(r.clip_id, r.split) for r in rows] == [("a/one", "val"), ("two", None)]
    assert rows[0].source == (video_dir / "a" / "one.mp4").resolve()


@pytest.mark.parametrize("layout", ["isign", "isltranslate"])
def test_uid_text_layouts(tmp_path: Path, video_dir: Path, layout: str) -> None:
    # iSign and ISLTranslate both ship `uid,text`; videos are `<uid>.mp4`
    write_csv(tmp_path / "sentences.csv", ["uid", "text"], [["1782bea75c7d-1", "Page 111"], ["1782bea75c7d-2", "Make it shorter."]])
    cfg = small_config(tmp_path)
    assert detect_layout(cfg.data.csv_path, cfg.data) == "isign"
    cfg.data.layout = layout
    rows, _, _ = read_rows(cfg.data)
    assert rows[1].source.name == "1782bea75c7d-2.mp4" and rows[1].text == "Make it shorter."


def test_phoenix_corpus_files_and_png_folders(tmp_path: Path) -> None:
    frames_root = tmp_path / "fullFrame-210x260px"
    header = ["name", "video", "start", "end", "speaker", "orth", "translation"]
    for split, name in (("train", "01April_2010_Thursday_heute-6694"), ("dev", "31March_2010_Wednesday_heute-2"), ("test", "25October_2010_Monday_tagesschau-17")):
        folder = frames_root / split / name
        folder.mkdir(parents=True)
        for i, frame in enumerate(ramp_frames(6)):
            cv2.imwrite(str(folder / f"images{i + 1:04d}.png"), frame)
        write_csv(tmp_path / f"PHOENIX-2014-T.{split}.corpus.csv", header,
                  [[name, f"{name}/1/*.png", "-1", "-1", "Signer01", "REGEN", f"es regnet {split}"]], delimiter="|")
    cfg = small_config(tmp_path, csv_path=tmp_path / "PHOENIX-2014-T.dev.corpus.csv", video_dir=frames_root)
    rows, rejects, layout = read_rows(cfg.data)
    assert layout == "phoenix" and not rejects
    assert [r.split for r in rows] == ["train", "val", "test"] and all(r.is_image_folder for r in rows)
    assert rows[0].text == "es regnet train"
    from isltk.data.prepare import prepare_cache

    report = prepare_cache(cfg, workers=1)  # PNG folders all the way into the cache
    assert report.prepared == 3 and not report.rejects and report.split_counts == {"train": 1, "val": 1, "test": 1}


def test_row_problems_become_rejects(tmp_path: Path, video_dir: Path) -> None:
    write_csv(tmp_path / "sentences.csv", ["video", "text", "split"], [
        ["a.mp4", "one", "train"], ["a.mp4", "again", "train"], ["b.mp4", "   ", "train"],
        ["../../etc/passwd", "escape", "train"], ["/etc/hosts", "absolute", "train"], ["c.mp4", "x", "holdout"]])
    rows, rejects, _ = read_rows(small_config(tmp_path).data)
    assert [r.clip_id for r in rows] == ["a"]
    reasons = {r.line: r.reason for r in rejects}
    assert "duplicate id (first seen on line 2)" in reasons[3]
    assert reasons[4] == "empty text"
    assert "escapes" in reasons[5] and "escapes" in reasons[6]
    assert "unknown split" in reasons[7]


def test_unreadable_csv_fails_fast(tmp_path: Path, video_dir: Path) -> None:
    (tmp_path / "sentences.csv").write_bytes("video,text\nx.mp4,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        read_rows(small_config(tmp_path).data)
    write_csv(tmp_path / "sentences.csv", ["media", "words"], [["x.mp4", "hi"]])
    with pytest.raises(DataError, match=r"cannot tell the CSV layout.*\[.media., .words.\]"):
        read_rows(small_config(tmp_path).data)
    cfg = small_config(tmp_path, layout="generic")
    with pytest.raises(DataError, match=r"missing column\(s\) \['video', 'text'\]"):
        read_rows(cfg.data)


def test_generic_layout_recognises_common_column_names_and_bare_ids(tmp_path: Path, video_dir: Path) -> None:
    (video_dir / "c1.mp4").write_bytes(b"x")
    write_csv(tmp_path / "sentences.csv", ["video_path", "sentence"], [["c1", "Hello"]])
    rows, rejects, layout = read_rows(small_config(tmp_path).data)
    assert layout == "generic" and not rejects
    assert rows[0].source.name == "c1.mp4" and rows[0].clip_id == "c1" and rows[0].text == "Hello"


def test_phoenix_glosses_train_the_ctc_head_and_evaluate_reports_gloss_wer(tmp_path: Path) -> None:
    """PHOENIX-2014T's `orth` column is the gloss supervision Sign Language Transformers train with."""
    import numpy as np

    from isltk.data.prepare import prepare_cache
    from isltk.evaluation.evaluate import evaluate_split
    from isltk.evaluation.inference import load_translator
    from isltk.training.trainer import Trainer
    from tests.conftest import micro_config

    frames_root = tmp_path / "fullFrame-210x260px"
    header = ["name", "video", "start", "end", "speaker", "orth", "translation"]
    sentences = [("REGEN NORD", "im norden regnet es"), ("SONNE SUED", "im sueden scheint die sonne"),
                 ("WIND NORD", "im norden weht wind"), ("REGEN SUED", "im sueden regnet es")]
    rng = np.random.default_rng(0)
    for split, count in (("train", 8), ("dev", 2), ("test", 2)):
        rows = []
        for i in range(count):
            name = f"{split}-{i}"
            folder = frames_root / split / name
            folder.mkdir(parents=True)
            for f in range(8):
                cv2.imwrite(str(folder / f"images{f + 1:04d}.png"), rng.integers(0, 255, (40, 32, 3), dtype=np.uint8))
            orth, translation = sentences[i % len(sentences)]
            rows.append([name, f"{name}/1/*.png", "-1", "-1", "Signer01", orth, translation])
        write_csv(tmp_path / f"PHOENIX-2014-T.{split}.corpus.csv", header, rows, delimiter="|")
    cfg = micro_config(tmp_path, tmp_path / "runs", num_epochs=2, gloss_losses={"temporal": 1.0})
    cfg.data.csv_path, cfg.data.video_dir = tmp_path / "PHOENIX-2014-T.train.corpus.csv", frames_root
    report = prepare_cache(cfg, workers=1)
    assert report.layout == "phoenix" and report.gloss_vocab_size == 4 + 5  # 4 specials + REGEN SONNE WIND NORD SUED
    Trainer(cfg, tmp_path / "run").fit()
    loaded = load_translator(tmp_path / "run", device="cpu")
    assert set(loaded.gloss_vocab) >= {"REGEN", "SONNE", "WIND", "NORD", "SUED"}
    scores = {s.name: s for s in evaluate_split(loaded, "test", 1, 1.0, tmp_path / "eval").scores}
    assert 0.0 <= scores["gloss WER"].value <= 200.0 and "levenshtein" in scores["gloss WER"].signature


def test_a_csv_name_finds_its_file_whatever_its_unicode_form(tmp_path: Path, video_dir: Path) -> None:
    """"café" in the CSV (composed, NFC) names a file stored decomposed (NFD), as macOS writes names."""
    import unicodedata

    stored = unicodedata.normalize("NFD", "café.mp4")
    (video_dir / stored).write_bytes(b"x")
    write_csv(tmp_path / "s.csv", ["video", "text"], [[unicodedata.normalize("NFC", "café.mp4"), "Coffee."]])
    rows, rejects, _ = read_rows(small_config(tmp_path, csv_path=tmp_path / "s.csv").data)
    assert not rejects and rows[0].source.name == stored and rows[0].source.is_file()


def test_rejects_name_the_physical_line_of_their_row(tmp_path: Path, video_dir: Path) -> None:
    """A quoted sentence over two lines and a blank line: the rows below are not at their record numbers."""
    (tmp_path / "s.csv").write_text('video,text\none.mp4,"Hello,\nthere."\n\ntwo.mp4,\nthree.mp4,Bye\n', encoding="utf-8")
    rows, rejects, _ = read_rows(small_config(tmp_path, csv_path=tmp_path / "s.csv").data)
    assert [(r.clip_id, r.line) for r in rows] == [("one", 2), ("three", 6)]
    assert [(r.reason, r.line) for r in rejects] == [("empty text", 5)]
