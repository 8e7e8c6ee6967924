"""Scores (isltk/metrics.py): sacrebleu's BLEU and chrF with their signatures, ROUGE-L and WER by hand."""

import pytest
import sacrebleu

from isltk.metrics import all_scores, bleu, rouge_l, word_error_rate


def test_bleu_is_sacrebleus_corpus_bleu_with_its_signature() -> None:
    hyps, refs = ["the boy eats an apple today", "she reads"], ["the boy eats the apple today", "she reads a book"]
    score = bleu(hyps, refs)
    assert score.value == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert 0 < score.value < 100 and "tok:13a" in score.signature and "case:mixed" in score.signature
    assert bleu(refs, refs).value == pytest.approx(100.0)
    assert "case:lc" in bleu(hyps, refs, lowercase=True).signature


def test_rouge_l_is_the_f_measure_of_the_longest_common_subsequence() -> None:
    # "a b c" vs "a c": LCS 2, precision 2/3, recall 1; F with beta 1.2
    precision, recall, beta = 2 / 3, 1.0, 1.2
    expected = 100 * (1 + beta**2) * precision * recall / (recall + beta**2 * precision)
    assert rouge_l(["a b c"], ["a c"]).value == pytest.approx(expected)
    assert rouge_l(["x"], ["a c"]).value == 0.0 and rouge_l(["a c"], ["a c"]).value == pytest.approx(100.0)


def test_word_error_rate_counts_substitutions_deletions_and_insertions() -> None:
    # one substitution (EAT -> DRINK) and one deletion (APPLE) over 4 reference words; one insertion over 1
    assert word_error_rate([["BOY", "DRINK", "TODAY"]], [["BOY", "EAT", "APPLE", "TODAY"]]).value == pytest.approx(50.0)
    assert word_error_rate([["HELLO", "HELLO"]], [["HELLO"]]).value == pytest.approx(100.0)


def test_all_scores_names_each_score() -> None:
    names = [s.name for s in all_scores(["she reads a book"], ["she reads a book"])]
    assert names[:4] == ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4"] and "chrF" in names and "ROUGE-L" in names
