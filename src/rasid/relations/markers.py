"""Encoder input for relations: typed entity markers around every entity of a window.

Markers are plain punctuation plus the type name (`@ *loc* حمص @`), the "typed entity marker
(punct)" form of Zhou & Chen (2021): no new vocabulary, so any encoder and its ONNX graph work
unchanged. Marking every entity of a window once, instead of one head/tail pair per pass,
lets one encoder pass serve all pairs of that window; the classifier tells head from tail by
the order in which it reads the two entity states.

The state read for an entity is that of its first piece inside the markers, not of the opening
`@`: in e5-small the `@` states of one window are nearly identical (cosine 0.986, 0.9995 after
the entity stage's fine-tuning) while first pieces differ (0.88), and a classifier on `@`
states stayed at the no-relation prior on the gold corpus.
"""

from __future__ import annotations

from dataclasses import dataclass

from rasid.articles import Entity
from rasid.ner.alignment import backend_tokenizer
from rasid.text import normalize_for_model

__all__ = ["MarkedWindow", "type_word", "mark_window", "window_ranges"]


def type_word(label: str) -> str:
    return label.lower().replace("_", " ")


@dataclass
class MarkedWindow:
    input_ids: list[int]
    marker_pos: dict[int, int]  # entity index → token position of its first piece inside the markers
    char_range: tuple[int, int]


def mark_window(text: str, entities: list[Entity], indices: list[int], char_range: tuple[int, int], tokenizer, normalize: bool) -> MarkedWindow:
    """Build the marked model input for the entities `indices` inside `char_range` of `text`."""
    lo, hi = char_range
    parts: list[str] = []
    marker_chars: dict[int, int] = {}
    pos = lo
    length = 0

    def add(s: str) -> None:
        nonlocal length
        parts.append(s)
        length += len(s)

    def plain(s: str) -> str:
        return normalize_for_model(s)[0] if normalize else s

    for k in sorted(indices, key=lambda i: entities[i].start):
        e = entities[k]
        add(plain(text[pos : e.start]))
        add(" ")
        add(f"@ *{type_word(e.label)}* ")
        marker_chars[k] = length
        add(plain(text[e.start : e.end]))
        add(" @ ")
        pos = e.end
    add(plain(text[pos:hi]))
    # the `tokenizers` object, not the transformers wrapper: the ONNX server has only the former
    enc = backend_tokenizer(tokenizer).encode("".join(parts))
    marker_pos = {}
    for k, c in marker_chars.items():
        for t, ((s, e), special) in enumerate(zip(enc.offsets, enc.special_tokens_mask)):
            if not special and (s <= c < e or s > c):
                marker_pos[k] = t
                break
    return MarkedWindow(list(enc.ids), marker_pos, char_range)


def window_ranges(text: str, sentence_starts: list[int], max_chars: int) -> list[tuple[int, int]]:
    """Consecutive sentence groups of at most `max_chars`, overlapping by one sentence.

    The overlap keeps pairs that straddle a window edge (a title and its sub-title) inside
    some window; a single sentence longer than the budget is cut at a space.
    """
    bounds = sentence_starts + [len(text)]
    sentences = [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1) if bounds[i] < bounds[i + 1]]
    pieces: list[tuple[int, int]] = []
    for s, e in sentences:
        while e - s > max_chars:
            cut = text.rfind(" ", s + max_chars // 2, s + max_chars)
            cut = cut if cut > s else s + max_chars
            pieces.append((s, cut))
            s = cut
        pieces.append((s, e))
    if not pieces:
        return [(0, len(text))]
    windows = []
    i = 0
    while i < len(pieces):
        j = i
        while j + 1 < len(pieces) and pieces[j + 1][1] - pieces[i][0] <= max_chars:
            j += 1
        windows.append((pieces[i][0], pieces[j][1]))
        if j + 1 >= len(pieces):
            break
        i = j if j > i else j + 1  # start the next window at this one's last sentence
    return windows
