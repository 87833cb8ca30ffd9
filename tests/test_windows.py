"""rasid.ner.windows: every piece covered, nothing truncated, merged scores = unwindowed scores."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rasid.errors import RasidConfigError
from rasid.ner.alignment import align_labels, encode_for_model
from rasid.ner.decoding import decode_entities
from rasid.ner.windows import make_windows, merge_window_scores
from test_alignment import TAG2ID, TAGS, TOKENIZER, perfect_probs

ANT = Path("/work/shared/data/corpora/ant/articles.jsonl")


@st.composite
def window_params(draw):
    max_len = draw(st.integers(1, 40))
    stride = draw(st.integers(0, max_len - 1))
    n = draw(st.integers(0, 300))
    starts = draw(st.lists(st.booleans(), min_size=n, max_size=n)) if draw(st.booleans()) else None
    return n, max_len, stride, starts


@given(window_params())
def test_windows_cover_every_piece(params):
    n, max_len, stride, starts = params
    windows = make_windows(n, max_len, stride, starts)
    if n == 0:
        assert windows == []
        return
    assert windows[0][0] == 0 and windows[-1][1] == n
    assert all(0 < e - s <= max_len for s, e in windows)
    for (s1, e1), (s2, e2) in zip(windows, windows[1:], strict=False):
        assert s1 < s2 and e1 < e2
        assert e1 - s2 >= stride  # overlap
    covered = set()
    for s, e in windows:
        covered.update(range(s, e))
    assert covered == set(range(n))


@given(window_params(), st.integers(1, 5))
def test_merge_returns_the_unwindowed_rows(params, n_tags):
    n, max_len, stride, starts = params
    windows = make_windows(n, max_len, stride, starts)
    if not windows:
        return
    full = np.random.default_rng(n).random((n, n_tags))
    merged = merge_window_scores(windows, [full[s:e] for s, e in windows], n)
    assert merged.shape == (n, n_tags)
    np.testing.assert_array_equal(merged, full)


def test_merge_takes_the_most_central_window():
    windows = [(0, 10), (6, 16)]
    scores = [np.full((10, 1), 0.0), np.full((10, 1), 1.0)]
    merged = merge_window_scores(windows, scores)[:, 0]
    # piece 7 is 2 from the first window's edge and 1 from the second's; piece 8 is 1 and 2
    assert list(merged) == [0.0] * 8 + [1.0] * 8


def test_word_starts_are_preferred():
    starts = [i % 5 == 0 for i in range(100)]
    windows = make_windows(100, 20, 4, starts)
    assert all(s % 5 == 0 for s, _ in windows)


def test_bad_settings():
    with pytest.raises(RasidConfigError):
        make_windows(10, 8, 8)
    with pytest.raises(RasidConfigError):
        make_windows(10, 8, 2, [True] * 3)


@pytest.mark.skipif(not ANT.exists(), reason="shared ANT corpus not present")
def test_long_article_is_never_truncated():
    with ANT.open(encoding="utf-8") as f:
        texts = [json.loads(next(f))["text"] for _ in range(40)]
    text = "\n".join(texts)
    enc = encode_for_model(TOKENIZER, text)
    max_len = 510
    assert len(enc) > 4 * max_len
    # every occurrence of a few names is an entity; the rest is O
    spans = []
    for name, label in (("تونس", "LOC"), ("وزارة", "AGENCY"), ("الجيش", "ARMED_GROUP")):
        i = text.find(name)
        while i >= 0:
            spans.append((i, i + len(name), label))
            i = text.find(name, i + 1)
    spans.sort()
    spans = [s for k, s in enumerate(spans) if k == 0 or s[0] >= spans[k - 1][1]]
    labels = align_labels(enc.token_spans, spans, TAG2ID)
    full = perfect_probs(labels)
    windows = make_windows(len(enc), max_len, 64, enc.word_starts)
    assert len(windows) >= 5
    merged = merge_window_scores(windows, [full[s:e] for s, e in windows], len(enc))
    assert merged.shape == (len(enc), len(TAGS))
    whole = decode_entities(full, enc.token_spans, text, TAGS)
    assert decode_entities(merged, enc.token_spans, text, TAGS) == whole
    assert whole and whole[-1]["end"] > len(text) - len(texts[-1])  # entities found in the last article too
