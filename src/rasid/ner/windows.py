"""Sliding windows over an article's pieces, so that nothing is ever truncated.

An article longer than the encoder's limit is cut into overlapping windows; each is encoded on its
own and every piece then takes its scores from the window in which it sits most centrally — the
one that gave it the most context on both sides. Averaging over windows would mix in predictions
made at a window's edge, where the context is cut off mid-sentence, and those are the worst ones;
picking one window also keeps the merged rows exactly equal to a real model output (a probability
row stays a probability row, logits stay logits).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rasid.errors import RasidConfigError

__all__ = ["make_windows", "merge_window_scores"]


def make_windows(
    n_tokens: int, max_len: int, stride: int, word_starts: Sequence[bool] | None = None
) -> list[tuple[int, int]]:
    """Windows (start, end), end exclusive, of at most `max_len` pieces covering 0..n_tokens.

    Consecutive windows overlap by at least `stride` pieces. `max_len` counts content pieces only:
    pass the encoder limit minus its special tokens (512 − 2 for e5). With `word_starts` (one bool
    per piece, e.g. `ModelEncoding.word_starts`) a window starts on a word's first piece when one
    lies within half a step before the plain start, so no window opens on a word's tail. No pieces
    → no windows.
    """
    if max_len < 1 or not 0 <= stride < max_len:
        raise RasidConfigError(f"window: need max_len >= 1 and 0 <= stride < max_len, got max_len={max_len}, stride={stride}")
    if word_starts is not None and len(word_starts) != n_tokens:
        raise RasidConfigError(f"window: word_starts has {len(word_starts)} entries for {n_tokens} pieces")
    windows: list[tuple[int, int]] = []
    start = 0
    max_back = (max_len - stride) // 2
    while start < n_tokens:
        end = min(start + max_len, n_tokens)
        windows.append((start, end))
        if end == n_tokens:
            break
        nxt = end - stride
        if word_starts is not None:
            lowest = max(start + 1, nxt - max_back)
            for j in range(nxt, lowest - 1, -1):
                if word_starts[j]:
                    nxt = j
                    break
        start = nxt
    return windows


def merge_window_scores(
    windows: Sequence[tuple[int, int]], per_window_scores: Sequence[np.ndarray], n_tokens: int | None = None
) -> np.ndarray:
    """One score row per piece: each piece takes its row from the window where it is most central
    (largest distance to the nearer window edge; the earlier window on a tie).

    `per_window_scores[k]` has shape [end_k − start_k, n_tags] (special tokens already removed).
    Returns an array of shape [n_tokens, n_tags]; `n_tokens` defaults to the last window's end and,
    when given, is checked against it.
    """
    if len(windows) != len(per_window_scores):
        raise ValueError(f"{len(windows)} windows but {len(per_window_scores)} score arrays")
    if not windows:
        return np.zeros((0, 0), dtype=np.float32)
    covered = max(end for _, end in windows)
    if n_tokens is not None and n_tokens != covered:
        raise ValueError(f"windows cover {covered} pieces, expected {n_tokens}")
    n_tokens = covered
    first = np.asarray(per_window_scores[0])
    merged = np.zeros((n_tokens, first.shape[1]), dtype=first.dtype)
    best = np.full(n_tokens, -1, dtype=np.int64)
    for (start, end), scores in zip(windows, per_window_scores, strict=True):
        scores = np.asarray(scores)
        if scores.shape[0] != end - start:
            raise ValueError(f"window ({start}, {end}) has {scores.shape[0]} score rows")
        idx = np.arange(start, end)
        centrality = np.minimum(idx - start, end - 1 - idx)
        better = centrality > best[start:end]
        merged[idx[better]] = scores[better]
        best[idx[better]] = centrality[better]
    if (best < 0).any():
        raise ValueError(f"windows leave pieces uncovered, first at {int(np.argmin(best))}")
    return merged
