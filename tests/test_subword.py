"""Byte-level BPE targets: exact round trips, nothing unknown, stored in the cache and every checkpoint."""

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from isltk.cli.app import app
from isltk.data import cache
from isltk.data.subword import SubwordVocabulary, subword_target
from isltk.data.vocab import SPECIALS, vocabulary_from_json
from tests.conftest import micro_config

TRAIN = ["Hello there.", "Yesterday, she drank the tea.", "Did he not buy the big red ball at the market?",
         "We will read the book at school tomorrow.", "Thank you!"] * 4
UNSEEN = ["Priya paid 1,250 rupees on 3 March 2024.", "Dr. Müller's café is closed — sorry.",
          "नमस्ते, आप कैसे हैं?", "  Spaces   collapse,\tTABS too  ", "ZZZ qwxj 😀"]


@pytest.mark.parametrize("lowercase", [False, True])
def test_every_sentence_round_trips_with_no_unknown_token(lowercase: bool) -> None:
    vocab = SubwordVocabulary.train(TRAIN, 300, lowercase)
    assert vocab.tokens[:4] == SPECIALS
    for sentence in TRAIN + UNSEEN:
        ids = vocab.target_ids({"text": sentence})
        assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id
        assert not set(ids[1:-1]) & {vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id}
        assert vocab.display_text(ids[1:]) == subword_target(sentence, lowercase)  # exactly, case and punctuation kept
    assert subword_target(UNSEEN[3], False) == "Spaces collapse, TABS too"


def test_subwords_are_shorter_than_bytes_and_survive_json() -> None:
    vocab = SubwordVocabulary.train(TRAIN, 400, False)
    sentence = TRAIN[1]
    assert len(vocab.target_ids({"text": sentence})) < len(sentence.encode("utf-8")) / 2  # merges learned
    again = vocabulary_from_json(vocab.to_json())
    assert again.tokens == vocab.tokens and again.target_ids({"text": UNSEEN[0]}) == vocab.target_ids({"text": UNSEEN[0]})
    assert vocab.normalized_text(vocab.target_ids({"text": "Yesterday, she drank the tea."})[1:]) == "Yesterday , she drank the tea ."  # as text_norm is, uncased


def test_targets_are_cut_to_max_length_keeping_eos() -> None:
    vocab = SubwordVocabulary.train(TRAIN, 300, False)
    ids = vocab.target_ids({"text": UNSEEN[1]}, max_length=6)
    assert len(ids) == 6 and ids[-1] == vocab.eos_id


def test_bpe_corpus_trains_and_writes_ordinary_text_from_the_checkpoint_alone(tmp_path: Path) -> None:
    from isltk.data.prepare import prepare_cache
    from isltk.evaluation.evaluate import evaluate_split
    from isltk.evaluation.inference import load_translator
    from isltk.synth.simple import make_corpus
    from isltk.training.trainer import Trainer

    root = tmp_path / "corpus"
    make_corpus(root, train_clips=16, val_clips=3, test_clips=4, seed=3)
    csv_path = root / "sentences.csv"
    rows = list(csv.DictReader(csv_path.open()))
    for i, row in enumerate(rows):  # test sentences with names and numbers never seen in training
        if row["split"] == "test":
            row["text"] = f"{row['text']} Priya owes {i * 37} rupees."
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    cfg = micro_config(root, tmp_path / "runs", num_epochs=2)
    cfg.data.tokenizer, cfg.data.subword_vocab_size, cfg.data.lowercase = "bpe", 300, False
    cfg.decoder.max_length = 40
    report = prepare_cache(cfg, workers=2)
    vocab = cache.load_text_vocabulary(cfg.data.prepared_dir)
    assert vocab.kind == "bpe" and report.vocab_size == len(vocab)
    test_rows = [r for r in rows if r["split"] == "test"]
    assert all(vocab.display_text(vocab.target_ids(r)[1:]) == r["text"] for r in rows)  # every sentence, exactly

    Trainer(cfg, tmp_path / "run").fit()
    (cfg.data.prepared_dir / cache.VOCAB_FILE).unlink()  # inference must need nothing but the checkpoint
    loaded = load_translator(tmp_path / "run", device="cpu")
    assert loaded.vocab.tokens == vocab.tokens
    evaluate_split(loaded, "test", 2, 1.0, tmp_path / "eval")
    hypotheses = (tmp_path / "eval" / "hypotheses.txt").read_text(encoding="utf-8").splitlines()
    references = (tmp_path / "eval" / "references.txt").read_text(encoding="utf-8").splitlines()
    ids = [json.loads(line)["id"] for line in (tmp_path / "eval" / "clips.jsonl").read_text().splitlines()]
    written = {r["video"].rsplit(".", 1)[0]: r["text"] for r in test_rows}
    assert references == [written[i] for i in ids]
    assert len(hypotheses) == len(test_rows) and not any(s in h for h in hypotheses for s in SPECIALS)
    result = CliRunner().invoke(app, ["translate", str(root / "videos" / f"{ids[0]}.mp4"), "--checkpoint", str(tmp_path / "run"),
                                      "--beam", "2", "--alpha", "1.0"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == hypotheses[0]
