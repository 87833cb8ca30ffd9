"""From per-piece tag probabilities to entity spans in the original text, and from spans to the
word-level IOB2 tags that seqeval scores (contract.md §3)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from rasid.text import is_removed_mark, whitespace_words

__all__ = ["EDGE_QUOTES", "decode_entities", "spans_to_word_tags", "tags_to_spans"]

# Quote marks stay outside a span (schema.md); the tokenizer often glues them to a name's pieces.
EDGE_QUOTES = frozenset("«»\"“”„‟‹›")


def _tag_list(id2tag: Sequence[str] | Mapping[int, str], n_tags: int) -> list[str]:
    if isinstance(id2tag, Mapping):
        return [id2tag[i] for i in range(n_tags)]
    if len(id2tag) != n_tags:
        raise ValueError(f"{len(id2tag)} tag names for {n_tags} score columns")
    return list(id2tag)


def tags_to_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Runs of BIO tags as (first index, last index + 1, label), invalid BIO repaired.

    An I-X after O, at the start, or after a different type starts a new X span (the lenient
    conlleval reading: the model saw an entity, so keep it rather than drop it).
    """
    spans: list[tuple[int, int, str]] = []
    cur_start, cur_label = -1, ""
    for i, tag in enumerate(tags):
        prefix, _, label = tag.partition("-")
        if prefix == "I" and cur_label == label:
            continue
        if cur_label:
            spans.append((cur_start, i, cur_label))
        cur_start, cur_label = (i, label) if prefix in ("B", "I") else (-1, "")
    if cur_label:
        spans.append((cur_start, len(tags), cur_label))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in EDGE_QUOTES):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in EDGE_QUOTES):
        end -= 1
    if end > start:
        # marks the tokenizer's normaliser left outside the last piece (إنَّ → (0, 2))
        while end < len(text) and is_removed_mark(text[end]):
            end += 1
    return start, end


def decode_entities(
    probs: np.ndarray,
    token_spans: Sequence[tuple[int, int]],
    text: str,
    id2tag: Sequence[str] | Mapping[int, str],
) -> list[dict[str, Any]]:
    """Entity dicts {start, end, label, text, score} from per-piece probabilities.

    `token_spans` are the pieces' (start, end) in `text` (`ModelEncoding.token_spans`); pieces with
    an empty span (bare ▁) are skipped, so they neither break nor extend an entity. Each entity runs
    from its first piece's start to its last piece's end, without whitespace or quote marks at the
    ends, extended over trailing diacritics/tatweel; score = mean probability of the chosen tags.
    Empty results are dropped, and `text[start:end] == entity["text"]` always holds.
    """
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[0] != len(token_spans):
        raise ValueError(f"probs has shape {probs.shape} for {len(token_spans)} pieces")
    keep = [i for i, (s, e) in enumerate(token_spans) if e > s]
    if not keep:
        return []
    tag_names = _tag_list(id2tag, probs.shape[1])
    chosen = probs[keep].argmax(axis=1)
    chosen_p = probs[keep][np.arange(len(keep)), chosen]
    entities: list[dict[str, Any]] = []
    for a, b, label in tags_to_spans([tag_names[c] for c in chosen]):
        start, end = _trim(text, token_spans[keep[a]][0], max(token_spans[keep[i]][1] for i in range(a, b)))
        if end <= start:
            continue
        entities.append(
            {"start": start, "end": end, "label": label, "text": text[start:end], "score": float(chosen_p[a:b].mean())}
        )
    return entities


def _triple(span: Any) -> tuple[int, int, str]:
    if isinstance(span, Mapping):
        return int(span["start"]), int(span["end"]), str(span["label"])
    if hasattr(span, "start") and hasattr(span, "label"):
        return int(span.start), int(span.end), str(span.label)
    start, end, label = span
    return int(start), int(end), str(label)


def spans_to_word_tags(
    text: str, spans: Iterable[Any], words: Sequence[tuple[int, int]] | None = None
) -> list[str]:
    """IOB2 tag per whitespace word: a word is inside an entity if any of its characters is; the
    first word of an entity gets B. A word touched by two entities (no space between them) belongs
    to the earlier one; the later one then starts at its next word, or vanishes at word level.

    `spans`: (start, end, label) tuples, dicts or `Entity` objects. `words` defaults to
    `whitespace_words(text)`.
    """
    if words is None:
        words = whitespace_words(text)
    tags = ["O"] * len(words)
    starts = [w[0] for w in words]
    for start, end, label in sorted(_triple(s) for s in spans):
        first = True
        # words overlapping [start, end): from the last word starting at or before `start`
        i = max(int(np.searchsorted(starts, start, side="right")) - 1, 0)
        while i < len(words) and words[i][0] < end:
            ws, we = words[i]
            if we > start and tags[i] == "O":
                tags[i] = ("B-" if first else "I-") + label
                first = False
            i += 1
    return tags
