"""Corpus metrics for sign language translation, each reported with how it was computed.

BLEU-1..4 and chrF come from sacrebleu (13a tokenizer, mixed case, exp smoothing by default) and
carry sacrebleu's own signature string, so a score can be reproduced with the `sacrebleu` CLI on
the hypothesis/reference files isltk writes. ROUGE-L is the sentence-level LCS F-measure with
beta = 1.2, averaged over sentences (the definition signjoey and most SLT papers use); no well-kept
library computes exactly that on pre-tokenised text, so it is implemented here in a few lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF

ROUGE_BETA = 1.2


@dataclass(frozen=True)
class Score:
    name: str
    value: float
    signature: str


def bleu(hypotheses: list[str], references: list[str], order: int = 4, tokenize: str = "13a", lowercase: bool = False) -> Score:
    metric = BLEU(max_ngram_order=order, tokenize=tokenize, lowercase=lowercase)
    result = metric.corpus_score(hypotheses, [references])
    return Score(f"BLEU-{order}", result.score, metric.get_signature().format())


def sentence_bleu(hypothesis: str, reference: str, lowercase: bool = False) -> float:
    return sacrebleu.sentence_bleu(hypothesis, [reference], lowercase=lowercase).score


def chrf(hypotheses: list[str], references: list[str], lowercase: bool = False) -> Score:
    metric = CHRF(lowercase=lowercase)
    return Score("chrF", metric.corpus_score(hypotheses, [references]).score, metric.get_signature().format())


def _lcs(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(hypotheses: list[str], references: list[str], beta: float = ROUGE_BETA) -> Score:
    total = 0.0
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        hyp, ref = hypothesis.split(), reference.split()
        lcs = _lcs(hyp, ref) if hyp and ref else 0
        if lcs:
            precision, recall = lcs / len(hyp), lcs / len(ref)
            total += (1 + beta**2) * precision * recall / (recall + beta**2 * precision)
    value = 100.0 * total / len(references) if references else 0.0
    return Score("ROUGE-L", value, f"rouge-l|f-beta:{beta}|tok:whitespace|avg:sentence|isltk")


def word_error_rate(hypotheses: list[list[str]], references: list[list[str]]) -> Score:
    """Corpus WER: (substitutions + deletions + insertions) / reference words, by word-level Levenshtein
    alignment (isltk's own dynamic programme, the definition sclite and jiwer use), as gloss recognition
    is reported (Camgoz et al. 2020)."""
    errors = words = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        previous = list(range(len(hyp) + 1))
        for i, r in enumerate(ref, 1):
            current = [i] + [0] * len(hyp)
            for j, h in enumerate(hyp, 1):
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
            previous = current
        errors, words = errors + previous[-1], words + len(ref)
    return Score("gloss WER", 100.0 * errors / max(1, words), "wer|tok:whitespace|levenshtein|isltk")


def all_scores(hypotheses: list[str], references: list[str], lowercase: bool = False) -> list[Score]:
    return [*(bleu(hypotheses, references, n, lowercase=lowercase) for n in (1, 2, 3, 4)), chrf(hypotheses, references, lowercase),
            rouge_l([h.lower() for h in hypotheses] if lowercase else hypotheses, [r.lower() for r in references] if lowercase else references)]
