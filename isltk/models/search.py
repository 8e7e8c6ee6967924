"""Greedy and beam-search decoding on batches.

Beam scores use the GNMT length penalty lp(Y) = ((5 + |Y|) / 6) ** alpha (as in signjoey), with |Y|
counting generated tokens including EOS. A hypothesis ends at EOS; at `max_length` the survivors
are closed as they are. With beam size 1 the search keeps exactly the greedy path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

StepFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (tokens, memory, mask) -> logits


@dataclass
class Hypothesis:
    tokens: list[int]  # generated tokens, EOS excluded
    score: float  # length-normalised log-probability (beam) or summed log-probability (greedy)


def never_emit(step: StepFn, banned: Sequence[int]) -> StepFn:
    """The same step with `banned` ids (PAD, BOS, UNK) made impossible: a translation never contains them,
    whatever the model's scores (an `<unk>` would also count as three tokens, `< unk >`, in BLEU)."""
    def masked(tokens: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = step(tokens, memory, mask)
        return logits.index_fill(-1, torch.tensor(list(banned), device=logits.device), float("-inf"))

    return masked


MAX_RUN = 2  # the same word at most twice in a row ("very very"); a third is degenerate repetition
NO_REPEAT_NGRAM = 3  # no three-word sequence twice in one sentence


def no_degenerate_repetition(step: StepFn, max_run: int = MAX_RUN, ngram: int = NO_REPEAT_NGRAM) -> StepFn:
    """The same step, unable to emit a token a (max_run + 1)-th time in a row or to complete an `ngram` the
    sentence already holds (fairseq's no_repeat_ngram). A model shown a clip unlike its training data (a black
    frame, a still image, a test pattern) tends to repeat one word or one pair until the length limit
    ("Tomorrow tomorrow tomorrow ...", "tomorrow want tomorrow want ..."); cut off, it must say something else
    or stop."""
    def masked(tokens: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = step(tokens, memory, mask)
        banned = repeating_tokens(tokens[:, 1:], logits.shape[-1], max_run, ngram)  # without BOS
        logits = logits.clone()
        logits[:, -1] = logits[:, -1].masked_fill(banned, float("-inf"))
        return logits

    return masked


def repeating_tokens(prefixes: torch.Tensor, vocab_size: int, max_run: int, ngram: int) -> torch.Tensor:
    """(B, V) bool: per prefix (B, L), the next tokens that would make a run longer than max_run or repeat an
    n-gram. Tensor operations only, so a GPU decode does not wait for the host at every step."""
    batch, length = prefixes.shape
    banned = torch.zeros(batch, vocab_size, dtype=torch.bool, device=prefixes.device)
    if length >= max_run:
        run = (prefixes[:, -max_run:] == prefixes[:, -1:]).all(1)
        banned[torch.arange(batch, device=prefixes.device), prefixes[:, -1]] |= run
    if length >= ngram:
        windows = prefixes.unfold(1, ngram, 1)  # (B, L - ngram + 1, ngram)
        same_start = (windows[..., :-1] == prefixes[:, None, length - ngram + 1:]).all(-1)
        hits = torch.zeros(batch, vocab_size, device=prefixes.device).scatter_add_(1, windows[..., -1], same_start.float())
        banned |= hits > 0
    return banned


def length_penalty(length: int, alpha: float) -> float:
    return ((5.0 + length) / 6.0) ** alpha


@torch.no_grad()
def greedy_search(step: StepFn, memory: torch.Tensor, mask: torch.Tensor, bos: int, eos: int, max_length: int) -> list[Hypothesis]:
    batch = memory.shape[0]
    tokens = torch.full((batch, 1), bos, dtype=torch.long, device=memory.device)
    scores = torch.zeros(batch, device=memory.device)
    done = torch.zeros(batch, dtype=torch.bool, device=memory.device)
    for _ in range(max_length - 1):
        logprobs = step(tokens, memory, mask)[:, -1].float().log_softmax(-1)
        best, chosen = logprobs.max(-1)
        scores = torch.where(done, scores, scores + best)
        chosen = torch.where(done, torch.full_like(chosen, eos), chosen)
        tokens = torch.cat([tokens, chosen[:, None]], 1)
        done |= chosen == eos
        if bool(done.all()):
            break
    out = []
    for row, score in zip(tokens[:, 1:].tolist(), scores.tolist(), strict=True):
        out.append(Hypothesis(row[: row.index(eos)] if eos in row else row, score))
    return out


@torch.no_grad()
def beam_search(
    step: StepFn, memory: torch.Tensor, mask: torch.Tensor, bos: int, eos: int, max_length: int, beam_size: int, alpha: float
) -> list[list[Hypothesis]]:
    """Per clip, its finished hypotheses best first (the n-best list; [0] is the translation)."""
    batch, k = memory.shape[0], beam_size
    memory = memory.repeat_interleave(k, 0)
    mask = mask.repeat_interleave(k, 0)
    tokens = torch.full((batch * k, 1), bos, dtype=torch.long, device=memory.device)
    alive_scores = torch.full((batch, k), float("-inf"), device=memory.device)
    alive_scores[:, 0] = 0.0  # all beams start identical: keep one
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    closed = [False] * batch
    for length in range(1, max_length):
        logprobs = step(tokens, memory, mask)[:, -1].float().log_softmax(-1)
        vocab = logprobs.shape[-1]
        candidates = (alive_scores.view(-1, 1) + logprobs).view(batch, k * vocab)
        top_scores, top_ids = candidates.topk(2 * k, dim=-1)
        next_rows, next_tokens, next_scores = [], [], []
        for b in range(batch):
            kept = 0
            for rank, (score, flat) in enumerate(zip(top_scores[b].tolist(), top_ids[b].tolist(), strict=True)):
                beam, token = divmod(flat, vocab)
                row = b * k + beam
                last_step = length == max_length - 1
                if (token == eos or last_step) and rank < k and not closed[b] and score > float("-inf"):
                    generated = tokens[row, 1:].tolist() + ([] if token == eos else [token])
                    finished[b].append(Hypothesis(generated, score / length_penalty(length, alpha)))
                if token == eos:
                    continue  # an EOS outside the top k is not a better hypothesis than the live ones
                if kept < k:
                    next_rows.append(row)
                    next_tokens.append(token)
                    next_scores.append(score if not closed[b] else float("-inf"))
                    kept += 1
            while kept < k:  # fewer live candidates than beams: pad with dead ones
                next_rows.append(b * k)
                next_tokens.append(eos)
                next_scores.append(float("-inf"))
                kept += 1
            if len(finished[b]) >= k and not closed[b]:
                # Close only when no live beam can still beat the k-th best finished one: a raw score only falls
                # as tokens are added, and the GNMT penalty grows with length, so score / lp(max_length - 1)
                # bounds a live beam's best normalised score (with alpha > 0 a longer beam can still win).
                kth_best = sorted((h.score for h in finished[b]), reverse=True)[k - 1]
                best_alive = max(next_scores[-k:])
                closed[b] = best_alive == float("-inf") or kth_best >= best_alive / length_penalty(max_length - 1, alpha)
        if all(closed) or length == max_length - 1:
            break
        rows = torch.tensor(next_rows, device=memory.device)
        tokens = torch.cat([tokens[rows], torch.tensor(next_tokens, device=memory.device)[:, None]], 1)
        alive_scores = torch.tensor(next_scores, device=memory.device).view(batch, k)
        alive_scores = torch.where(torch.tensor(closed, device=memory.device)[:, None], float("-inf"), alive_scores)
    return [sorted(hyps, key=lambda h: h.score, reverse=True) or [Hypothesis([], float("-inf"))] for hyps in finished]
