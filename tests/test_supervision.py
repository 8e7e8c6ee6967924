"""Sign labels from glosses or, without them, pseudo-glosses from the sentence (isltk.data.supervision)."""

from __future__ import annotations

import pytest

from isltk.data.supervision import (
    MAX_SENTENCE_SHARE,
    SignLabels,
    pseudo_gloss_vocabulary,
    sentence_words,
    sign_labels,
)
from isltk.data.vocab import SPECIALS, Vocabulary
from isltk.errors import ConfigError


def test_sentence_words_are_lemmas_without_the_words_no_sign_names() -> None:
    assert sentence_words("Yesterday, she didn't drink the tea.") == ["yesterday", "she", "not", "drink", "tea"]
    assert sentence_words("He saw the apples") == ["he", "see", "apple"]
    assert sentence_words("They wanted food; we bought it") == ["they", "want", "food", "we", "buy", "it"]
    assert sentence_words("Is it raining?") == ["it", "rain", "?"]  # a question is signed too
    assert sentence_words("I\u2019m going.") == ["i", "go"]  # typographic apostrophe, clitic dropped
    assert sentence_words("Good morning.") == ["good", "morning"]


def test_the_vocabulary_keeps_words_that_can_tell_clips_apart() -> None:
    texts = ["The cat sleeps.", "The dog sleeps.", "The cat ate.", "A dog ran.", "The bird sang once."]
    vocabulary = pseudo_gloss_vocabulary(texts)
    words = set(vocabulary.tokens[len(SPECIALS):])
    assert words == {"cat", "dog", "sleep"}  # "the"/"a": unsigned; "bird", "sing", "once", "eat", "run": one sentence
    assert MAX_SENTENCE_SHARE == 0.5
    frequent = pseudo_gloss_vocabulary(["cat eats", "cat runs", "cat sleeps", "dog eats", "dog runs"])
    assert "cat" not in frequent.tokens  # in 3 of 5 sentences: background, not a sign
    assert {"dog", "eat", "run"} <= set(frequent.tokens)


def test_real_glosses_are_preferred_and_pseudo_glosses_stand_in_without_them() -> None:
    records = [{"split": "train", "text": text, "gloss": gloss} for text, gloss in
               [("I eat apples.", "I APPLE EAT"), ("You eat bread.", "YOU BREAD EAT"), ("I see you.", "I YOU SEE"),
                ("You see apples.", "YOU APPLE SEE")]]
    glosses = Vocabulary.build([r["gloss"].split() for r in records])
    chosen = sign_labels(records, glosses, "auto")
    assert chosen.kind == "glosses" and chosen.ordered
    assert [chosen.vocabulary.tokens[i] for i in chosen.ids(records[0])] == ["I", "APPLE", "EAT"]  # signing order
    pseudo = sign_labels(records, None, "auto")
    assert pseudo.kind == "pseudo_glosses" and not pseudo.ordered
    assert [pseudo.vocabulary.tokens[i] for i in pseudo.ids(records[0])] == ["i", "eat", "apple"]
    assert pseudo.describe() == f"pseudo-glosses from {pseudo.size - len(SPECIALS)} words"
    assert sign_labels(records, glosses, "pseudo_glosses").kind == "pseudo_glosses"  # asked for: a comparison
    assert sign_labels(records, glosses, "none") == SignLabels("none", None)
    with pytest.raises(ConfigError, match="training.supervision is 'glosses'"):
        sign_labels(records, None, "glosses")


def test_unknown_words_get_no_label() -> None:
    records = [{"split": "train", "text": t} for t in ("cats sleep", "cats eat", "dogs eat", "dogs sleep")]
    labels = sign_labels(records, None, "auto")
    assert labels.ids({"text": "A horse eats."}) == [labels.vocabulary.tokens.index("eat")]  # no <unk> class trained
