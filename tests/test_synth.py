import csv
from pathlib import Path

from isltk.data.video import decode_video
from isltk.synth.simple import GLOSSES, english, gestures, make_corpus, sentence_splits


def test_test_sentences_are_unseen_combinations_of_seen_words(tmp_path: Path) -> None:
    make_corpus(tmp_path, train_clips=60, val_clips=6, test_clips=6, seed=4)
    rows = list(csv.DictReader((tmp_path / "sentences.csv").open()))
    train = {r["text"] for r in rows if r["split"] == "train"}
    test = [r["text"] for r in rows if r["split"] == "test"]
    assert test and not set(test) & train
    splits = sentence_splits(4)
    train_words = {w for combo in splits["train"] for w in english(*combo).split()}
    assert all(w in train_words for combo in splits["test"] for w in english(*combo).split())
    clip = decode_video(tmp_path / "videos" / rows[0]["video"], 8, 32)  # a real, decodable video
    assert clip.frames.shape == (8, 32, 32, 3)


def test_isl_order_differs_from_english_order() -> None:
    assert english("YESTERDAY", "SHE", "TEA", "DRINK") == "yesterday she drank the tea"
    assert english("", "HE", "BOOK", "READ") == "he reads the book"
    assert english("TOMORROW", "WE", "BALL", "SEE") == "tomorrow we will see the ball"


def test_every_gloss_has_a_distinct_gesture() -> None:
    table = gestures()
    assert len({(g.colour, g.shape) for g in table.values()}) == len(GLOSSES)
