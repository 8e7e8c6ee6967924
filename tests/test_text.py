"""Text normalisation (isltk/data/text.py): what BLEU compares and what a user reads."""

from isltk.data.text import detokenize, normalize_text, tokenize


def test_normalisation_splits_punctuation_keeps_clitics_and_lower_cases() -> None:
    assert normalize_text("  Don't   go!  Now. ") == "don't go ! now ."
    assert normalize_text("Don't go!", lowercase=False) == "Don't go !"
    assert normalize_text("ＨＥＬＬＯ") == "hello"  # NFKC: full-width letters are the ordinary ones
    assert tokenize("don't go !") == ["don't", "go", "!"]


def test_detokenize_reattaches_punctuation_and_capitalises() -> None:
    assert detokenize(["don't", "go", "!", "now", "."]) == "Don't go! now."
    assert detokenize(["see", "(", "here", ")", ","]) == "See (here),"
    assert detokenize(["hello"], capitalize=False) == "hello" and detokenize([]) == ""
