"""The realistic synthetic corpus: grammar, unseen signers and combinations, held greetings, real videos."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from isltk.data import cache
from isltk.data.prepare import prepare_cache
from isltk.synth.signing import (
    GREETING_SHARE,
    GREETINGS,
    HANDSHAPES,
    SIGNERS,
    Body,
    english_sentence,
    held_out_pairs,
    lexicon,
    make_signer,
    make_signing_corpus,
    render,
    sample_split,
    sentence_pairs,
)
from tests.conftest import small_config


def test_english_has_tense_negation_questions_and_articles() -> None:
    assert english_sentence("YESTERDAY", "SHE", None, "TEA", (), "DRINK", False, False) == "Yesterday, she drank the tea."
    assert english_sentence(None, "HE", "HOME", "BOOK", ("BIG", "RED"), "READ", True, False) == \
        "He does not read the big red book at home."
    assert english_sentence("YESTERDAY", "SHE", "MARKET", "BALL", ("BIG", "RED"), "BUY", True, True) == \
        "Did she not buy the big red ball at the market yesterday?"
    assert english_sentence("TOMORROW", "I", None, None, (), "SLEEP", False, False) == "Tomorrow, I will sleep."
    assert english_sentence(None, "THEY", None, "APPLE", (), "EAT", False, True) == "Do they eat the apple?"


def test_signs_differ_only_in_form_and_greetings_are_held() -> None:
    table = lexicon()
    assert len(set(table.values())) == len(table)
    assert {table[g].movement for g in GREETINGS} == {"hold"}
    assert len({table[g].handshape for g in table}) == len(HANDSHAPES)
    frames = np.stack(render(("HELLO",), make_signer(3), seed=1)).astype(np.float32)
    assert len(frames) >= 20 and np.abs(frames - frames.mean(0)).mean() < 6  # only camera noise moves


def test_every_sign_of_every_signer_is_inside_the_frames_central_square() -> None:
    """Measured from pixels: where a clip's frames differ from the signer's still body, for the signs that reach
    highest (forehead) and widest (side), every train/val/test signer. A forehead sign cut off at the frame's top
    (half the training signers once) makes SORRY and GOOD-MORNING look alike: labels no model can learn."""
    table = lexicon()
    extremes = [g for g, sign in table.items() if sign.location in ("forehead", "side")]
    for signer_id in [i for split in SIGNERS.values() for i in split]:
        signer = make_signer(signer_id)
        width, height = signer.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        for seed, gloss in enumerate(extremes):
            still = Body(signer, np.random.default_rng(seed)).image.astype(np.int16)  # render's backdrop for this seed
            for frame in render((gloss,), signer, seed=seed)[::3]:
                rows, cols = np.nonzero(np.abs(frame.astype(np.int16) - still).max(-1) > 40)
                assert len(rows), (signer_id, gloss)
                assert rows.min() > top and left < cols.min() and cols.max() < left + side - 1, (signer_id, gloss)


def test_every_split_holds_the_same_share_of_greetings() -> None:
    """Val/test reject most sentences (they need an unseen pair); greetings must not fill the gap."""
    import random

    rng, held = random.Random(0), held_out_pairs(0)
    train = sample_split("train", 2000, rng, held, set())
    texts = {s.english for s in train}
    for split in (train, sample_split("test", 2000, rng, held, texts)):
        share = sum(len(s.glosses) == 1 for s in split) / len(split)
        assert abs(share - GREETING_SHARE) < 0.03, share


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("signing")
    make_signing_corpus(root, train_clips=24, val_clips=4, test_clips=6, seed=3, workers=2)
    return root


def test_val_and_test_are_unseen_signers_and_unseen_combinations(corpus: Path) -> None:
    rows = list(csv.DictReader((corpus / "sentences.csv").open()))
    signers = {split: {r["signer"] for r in rows if r["split"] == split} for split in SIGNERS}
    assert not signers["train"] & signers["test"] and not signers["train"] & signers["val"]
    train_texts = {r["text"] for r in rows if r["split"] == "train"}
    train_pairs = set().union(*(sentence_pairs_of(r) for r in rows if r["split"] == "train"))
    for row in (r for r in rows if r["split"] == "test" and " " in r["gloss"]):
        assert row["text"] not in train_texts
        assert sentence_pairs_of(row) - train_pairs  # a (noun, verb) pair never signed in training


def sentence_pairs_of(row: dict) -> set:
    from isltk.synth.signing import Sentence

    return sentence_pairs(Sentence(tuple(row["gloss"].split()), row["text"]))


def test_prepare_samples_by_time_and_keeps_glosses(corpus: Path) -> None:
    cfg = small_config(corpus, image_size=32, sample_fps=10, min_frames=4, max_frames=40)
    report = prepare_cache(cfg, workers=2)
    assert report.usable == 34 and report.gloss_vocab_size > 4
    records = cache.load_manifest(cfg.data.prepared_dir)
    for record in records:
        stored = np.load(cache.clip_frames_path(cfg.data.prepared_dir, record["key"], "npy"), mmap_mode="r")
        assert record["frames"] == len(stored)
        assert record["frames"] == min(40, max(4, round(record["duration_s"] * 10)))
        assert record["gloss"]
    assert len({r["frames"] for r in records}) > 5  # lengths follow the sentences
    assert cache.has_glosses(cfg.data.prepared_dir)
    assert prepare_cache(cfg, workers=1).reused == 34  # nothing decoded again


def test_a_gloss_annotated_corpus_trains_the_ctc_head_and_evaluate_reports_gloss_wer(corpus: Path, tmp_path: Path) -> None:
    from isltk.evaluation.evaluate import evaluate_split
    from isltk.evaluation.inference import load_translator
    from isltk.training import run_folder
    from isltk.training.trainer import Trainer
    from tests.conftest import micro_config

    cfg = micro_config(corpus, tmp_path / "runs", num_epochs=2, gloss_losses={"temporal": 1.0})
    cfg.data.prepared_dir = tmp_path / "prepared"
    prepare_cache(cfg, workers=2)
    Trainer(cfg, tmp_path / "run").fit()
    rows = [json.loads(line) for line in (tmp_path / "run" / run_folder.METRICS_FILE).read_text().splitlines()]
    assert any(r.get("temporal_gloss_loss") for r in rows if r["kind"] == "train")
    loaded = load_translator(tmp_path / "run", device="cpu")
    assert loaded.gloss_vocab[: 4] == ["<pad>", "<unk>", "<bos>", "<eos>"]  # stored in the checkpoint
    assert loaded.supervision == "glosses" and list(loaded.model.gloss_heads) == ["temporal"]
    report = evaluate_split(loaded, "test", 1, 1.0, tmp_path / "eval")
    wer = next(s for s in report.scores if s.name == "gloss WER")
    assert 0.0 <= wer.value and "levenshtein" in wer.signature
    assert "gloss WER" in json.loads((tmp_path / "eval" / "metrics.json").read_text())["scores"]


def test_a_corpus_without_glosses_trains_on_pseudo_glosses_from_its_sentences(corpus: Path, tmp_path: Path) -> None:
    """As iSign comes: English only. The encoder losses learn the sentences' content words; CTC stays off."""
    from isltk.config import GLOSS_HEADS
    from isltk.errors import ConfigError
    from isltk.evaluation.inference import load_translator
    from isltk.training import run_folder
    from isltk.training.checkpoint import read_meta, resolve_checkpoint
    from isltk.training.trainer import Trainer
    from tests.conftest import micro_config, write_csv

    rows = list(csv.DictReader((corpus / "sentences.csv").open(encoding="utf-8")))
    english_only = write_csv(tmp_path / "english.csv", ["video", "text", "split"], [[r["video"], r["text"], r["split"]] for r in rows])
    weights = {"gloss_losses": {"temporal": 1.0, "frame": 1.0, "memory": 1.0}}
    cfg = micro_config(corpus, tmp_path / "runs", num_epochs=2, **weights)
    cfg.data.csv_path, cfg.data.prepared_dir = english_only, tmp_path / "prepared"
    report = prepare_cache(cfg, workers=2)
    assert report.gloss_vocab_size == 0 and report.supervision.startswith("pseudo-glosses from ")
    cfg.training.supervision = "glosses"  # asked for glosses the CSV does not have: prepare says so, train refuses
    assert "training.supervision is 'glosses'" in prepare_cache(cfg, workers=1).supervision
    with pytest.raises(ConfigError, match="has no gloss column"):
        Trainer(cfg, tmp_path / "refused")
    cfg.training.supervision = "auto"
    trainer = Trainer(cfg, tmp_path / "run")
    assert trainer.labels.kind == "pseudo_glosses"
    words = set(trainer.labels.names)
    assert {"yesterday", "eat"} & words and not {"the", "ate", "did"} & words  # lemmas, no function words
    model = trainer.model
    assert not trainer.model_cfg.ordered_glosses  # English order is not signing order: no CTC
    assert {name: head.out_features for name, head in model.gloss_heads.items()} == dict.fromkeys(GLOSS_HEADS, trainer.labels.size)
    assert any(trainer.train_set.label_ids)  # clips carry their labels
    trainer.fit()
    rows = [json.loads(line) for line in (tmp_path / "run" / run_folder.METRICS_FILE).read_text().splitlines()]
    train_rows = [r for r in rows if r["kind"] == "train"]
    assert all(r["temporal_gloss_loss"] > 0 and r["frame_gloss_loss"] > 0 and r["memory_gloss_loss"] > 0 for r in train_rows)
    meta = read_meta(resolve_checkpoint(tmp_path / "run"))
    assert meta["supervision"] == "pseudo_glosses" and meta["gloss_vocab"] == trainer.labels.names
    loaded = load_translator(tmp_path / "run", device="cpu")
    assert loaded.supervision == "pseudo_glosses" and loaded.gloss_vocab == []  # no CTC decoding of pseudo-glosses

    with_glosses = micro_config(corpus, tmp_path / "runs", num_epochs=2, **weights)
    with_glosses.data.prepared_dir = tmp_path / "prepared-glosses"
    assert prepare_cache(with_glosses, workers=2).supervision.startswith("glosses (")  # the real ones, when present
    assert Trainer(with_glosses, tmp_path / "run-glosses").labels.kind == "glosses"


def test_check_hardware_counts_the_parameters_train_builds_for_the_signing_preset(corpus: Path, tmp_path: Path) -> None:
    """The gloss heads of configs/signing.yaml were once left out of check-hardware's and train's printed count."""
    from isltk.config import load_config
    from isltk.hardware.estimate import estimate
    from isltk.models.summary import count_parameters
    from isltk.training.trainer import Trainer

    cfg = load_config(Path(__file__).parents[1] / "configs" / "signing.yaml", [
        f"data.video_dir={corpus / 'videos'}", f"data.csv_path={corpus / 'sentences.csv'}",
        f"data.prepared_dir={tmp_path / 'prepared'}", f"training.runs_dir={tmp_path / 'runs'}"])
    prepare_cache(cfg, workers=2)
    trained = count_parameters(Trainer(cfg, tmp_path / "run").model)["total"]
    predicted = estimate(cfg).parameters["total"]
    assert predicted == trained
    unprepared = [f"data.prepared_dir={tmp_path / 'none'}"]  # reference vocabulary sizes before prepare
    without_glosses = ["training.gloss_losses.temporal=0", "training.gloss_losses.frame=0", "training.gloss_losses.memory=0"]
    shipped = Path(__file__).parents[1] / "configs" / "signing.yaml"
    assert (estimate(load_config(shipped, unprepared)).parameters["total"]
            > estimate(load_config(shipped, unprepared + without_glosses)).parameters["total"])  # gloss heads counted
