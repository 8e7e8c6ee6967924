"""The word vocabulary (isltk/data/vocab.py): specials first, train words by frequency, round trips."""

import pytest

from isltk.data.vocab import BOS_ID, EOS_ID, SPECIALS, UNK_ID, Vocabulary, vocabulary_from_json
from isltk.errors import DataError


def test_built_from_sentences_specials_first_then_by_frequency() -> None:
    vocab = Vocabulary.build([["the", "boy", "eats"], ["the", "girl"], ["the", "boy"]], min_count=1)
    assert vocab.tokens[: len(SPECIALS)] == SPECIALS
    assert vocab.tokens[len(SPECIALS):] == ("the", "boy", "eats", "girl")  # count, then alphabetical
    assert Vocabulary.build([["a", "b"], ["a"]], min_count=2).tokens[len(SPECIALS):] == ("a",)


def test_encoding_wraps_unknown_words_and_truncation_keeps_eos() -> None:
    vocab = Vocabulary.build([["the", "boy", "eats"]])
    ids = vocab.encode(["the", "dragon", "eats"])
    assert ids[0] == BOS_ID and ids[-1] == EOS_ID and ids[2] == UNK_ID
    short = vocab.encode(["the", "boy", "eats"], max_length=3)
    assert len(short) == 3 and short[-1] == EOS_ID
    with_stop = Vocabulary.build([["the", "boy", "eats", "."]])
    assert with_stop.display_text(with_stop.encode(["the", "boy", "eats", "."])) == "The boy eats."
    assert vocab.normalized_text([BOS_ID, *vocab.encode(["the", "dragon"])[1:], EOS_ID, 0]) == "the <unk>"  # stops at EOS


def test_json_round_trip_and_a_clear_error_for_damaged_text() -> None:
    vocab = Vocabulary.build([["hello", "world"]])
    assert vocabulary_from_json(vocab.to_json()) == vocab
    with pytest.raises(DataError, match="vocab.json: not a valid vocabulary"):
        vocabulary_from_json("{broken", "vocab.json")
    with pytest.raises(DataError, match="must start with"):
        Vocabulary(("hello", "world"))
