"""From an article to encoder pieces and BIO labels, with every piece's offsets in the ORIGINAL text.

The hard case is Arabic proclitics: a name often starts inside a whitespace word (وبحمص → حمص,
للجيش → لجيش, والرستن → الرستن), and the SentencePiece vocabulary of XLM-R / e5 has pieces that
run across that boundary (▁وب, ▁للج, ▁وال, ▁لت). Measured on 1,500 ANT news articles with
NewsFANE names, 352 of 506 clitic-prefixed names (70 %; 90 % for لل) start strictly inside a
piece, so a piece-level tagger could never emit them exactly. `encode_for_model` therefore
re-splits exactly those pieces: where a piece runs across a possible proclitic boundary (the word
starts with و ف ب ك ل, وب وك ول فب فك فل and at least three letters follow), the piece is
re-tokenised as separate segments with the tokenizer's own model, so the boundary becomes a piece
boundary and the rest of the word keeps ordinary continuation pieces. Exception: a word that the
vocabulary holds as one ▁-piece (وزارة, وقال, بغداد) is left whole unless the cut is before ال or
in لل. That leaves 11 of 506 inside a piece (all لصالح, mostly the preposition "in favour of"),
re-splits 10.5 % of words and adds 6.9 % pieces. The rule looks only at the text (never at gold
spans), so training and inference see identical pieces, and it needs only the `tokenizers`
library (the ONNX server can run it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rasid.text import is_removed_mark, normalize_for_model

__all__ = [
    "IGNORE_INDEX",
    "PROCLITIC_RUNS",
    "ModelEncoding",
    "align_labels",
    "backend_tokenizer",
    "boundary_misses",
    "clitic_cut_points",
    "encode_for_model",
    "original_token_spans",
]

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
# Conjunction, then at most one preposition (schema.md: leave out و ف ب ك ل). س only prefixes verbs.
PROCLITIC_RUNS = frozenset({"و", "ف", "ب", "ك", "ل", "وب", "وك", "ول", "فب", "فك", "فل"})
_MIN_STEM = 3
_ARABIC_LETTERS = re.compile("[\u0621-\u063a\u0641-\u064a\u066e\u066f\u0671-\u06d3\u06d5\u06fa-\u06fc]+")
_SPACE_PIECE = "\u2581"


@dataclass(frozen=True)
class ModelEncoding:
    """Pieces of one article, without special tokens (windows add them).

    `token_spans[i]` is piece i's (start, end) in the original text, end exclusive, extended over the
    diacritics/tatweel that follow it; (0, 0) for a piece that covers no character (a bare ▁).
    `model_offsets[i]` is the piece's (start, end) in `model_text`, as the tokenizer reported it.
    """

    text: str
    model_text: str
    char_map: list[int]
    input_ids: list[int]
    tokens: list[str]
    model_offsets: list[tuple[int, int]]
    token_spans: list[tuple[int, int]]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def word_starts(self) -> list[bool]:
        """True for a piece that begins a whitespace word of the original text (good window starts)."""
        starts: list[bool] = []
        for s, e in self.token_spans:
            starts.append(e > s and (s == 0 or self.text[s - 1].isspace()))
        return starts


def backend_tokenizer(tokenizer: Any) -> Any:
    """The `tokenizers.Tokenizer` behind a Hugging Face fast tokenizer, or the object itself."""
    return getattr(tokenizer, "backend_tokenizer", tokenizer)


def clitic_cut_points(model_text: str) -> list[int]:
    """Indices in `model_text` where a proclitic run may end and a name begin (sorted)."""
    cuts: list[int] = []
    for m in _ARABIC_LETTERS.finditer(model_text):
        word = m.group()
        for k in range(1, min(3, len(word) - _MIN_STEM + 1)):
            if word[:k] in PROCLITIC_RUNS:
                cuts.append(m.start() + k)
    return cuts


def _char_offsets(value_bytes_offsets: Iterable[tuple[int, int]], segment: str) -> list[tuple[int, int]]:
    # Model.tokenize reports byte offsets; map them to character offsets of `segment`.
    byte_to_char = {}
    pos = 0
    for ci, ch in enumerate(segment):
        byte_to_char[pos] = ci
        pos += len(ch.encode("utf-8"))
    byte_to_char[pos] = len(segment)
    return [(byte_to_char[a], byte_to_char[b]) for a, b in value_bytes_offsets]


def _resplit_piece(
    model: Any, piece: str, start: int, end: int, model_text: str, cuts: Sequence[int]
) -> list[tuple[int, str, tuple[int, int]]] | None:
    """Re-tokenise one piece as segments split at `cuts`; None when the piece's characters don't line
    up one to one with `model_text` (the tokenizer's own normaliser changed them)."""
    has_space = piece.startswith(_SPACE_PIECE)
    body = piece[1:] if has_space else piece
    body_start = end - len(body)
    if body_start < start or model_text[body_start:end] != body:
        return None
    inner = [c for c in cuts if body_start < c < end]
    bounds = [body_start, *inner, end]
    out: list[tuple[int, str, tuple[int, int]]] = []
    for si, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        segment = model_text[a:b]
        prefix = _SPACE_PIECE if (si == 0 and has_space) else ""
        full = prefix + segment
        toks = model.tokenize(full)
        offs = _char_offsets((t.offsets for t in toks), full)
        for t, (x, y) in zip(toks, offs, strict=True):
            # the ▁ prefix stands for the piece's leading space (if it had one): keep it in that piece
            x0 = a + x - len(prefix) if x > 0 else (start if si == 0 else a)
            out.append((t.id, t.value, (x0, a + y - len(prefix))))
    return out


def _before_article(model_text: str, cut: int) -> bool:
    # ال after a proclitic (وال، بال، كال) and لل (ل + ال with its alef elided) are unambiguous
    # clitic boundaries, worth a split even inside a frequent whole-word piece (بالقاهرة).
    # At least three letters after ال, so وكالة is not read as و + ك + الة.
    rest = model_text[cut + 2 : cut + 5]
    article = model_text.startswith("ال", cut) and len(rest) == 3 and _ARABIC_LETTERS.fullmatch(rest) is not None
    return article or (model_text[cut - 1] == "ل" and model_text.startswith("ل", cut))


def _is_whole_word_piece(piece: str, start: int, end: int, model_text: str) -> bool:
    # A word the vocabulary holds as one ▁-piece (وزارة, وقال, بغداد, لصالح) is a frequent word in
    # its own right; splitting it would cost the encoder its pretrained embedding for little gain.
    if not piece.startswith(_SPACE_PIECE) or len(piece) < 2:
        return False
    body_start = end - len(piece) + 1
    if body_start < start or model_text[body_start:end] != piece[1:]:
        return False
    before_ok = body_start == 0 or not _ARABIC_LETTERS.match(model_text[body_start - 1])
    after_ok = end == len(model_text) or not _ARABIC_LETTERS.match(model_text[end])
    return before_ok and after_ok


def original_token_spans(
    model_offsets: Sequence[tuple[int, int]], model_text: str, char_map: Sequence[int], text: str
) -> list[tuple[int, int]]:
    """Map piece offsets in the model input back to the original text.

    Whitespace at either end of a piece is dropped (▁ pieces carry the space before a word); a piece
    left empty gets (0, 0). The end is extended over diacritics and tatweel that follow in the
    original, which the normalisation removed, so a span ending on this piece keeps them.
    """
    spans: list[tuple[int, int]] = []
    for a, b in model_offsets:
        while a < b and model_text[a].isspace():
            a += 1
        while b > a and model_text[b - 1].isspace():
            b -= 1
        if a >= b:
            spans.append((0, 0))
            continue
        start, end = char_map[a], char_map[b - 1] + 1
        while end < len(text) and is_removed_mark(text[end]):
            end += 1
        spans.append((start, end))
    return spans


def encode_for_model(tokenizer: Any, text: str, *, split_clitics: bool = True, normalize: bool = True) -> ModelEncoding:
    """Normalise `text`, tokenise it without special tokens, split pieces at proclitic boundaries.

    `tokenizer` is a `tokenizers.Tokenizer` or a Hugging Face fast tokenizer. `split_clitics=False`
    gives the tokenizer's plain pieces and `normalize=False` feeds the text as it is (ablations; a
    model must be served with the settings it was trained with).
    """
    tok = backend_tokenizer(tokenizer)
    model_text, char_map = normalize_for_model(text) if normalize else (text, list(range(len(text))))
    enc = tok.encode(model_text, add_special_tokens=False)
    ids: list[int] = []
    pieces: list[str] = []
    offsets: list[tuple[int, int]] = []
    cuts = clitic_cut_points(model_text) if split_clitics else []
    ci = 0
    for tid, piece, (s, e) in zip(enc.ids, enc.tokens, enc.offsets, strict=True):
        while ci < len(cuts) and cuts[ci] <= s:
            ci += 1
        inside = [c for c in cuts[ci : ci + 3] if c < e]
        if inside and _is_whole_word_piece(piece, s, e, model_text):
            inside = [c for c in inside if _before_article(model_text, c)]
        if inside:
            parts = _resplit_piece(tok.model, piece, s, e, model_text, inside)
            if parts is not None:
                for pid, pval, poff in parts:
                    ids.append(pid)
                    pieces.append(pval)
                    offsets.append(poff)
                continue
            log.debug("piece %r at %d:%d does not match the model text; left whole", piece, s, e)
        ids.append(tid)
        pieces.append(piece)
        offsets.append((s, e))
    return ModelEncoding(
        text=text,
        model_text=model_text,
        char_map=char_map,
        input_ids=ids,
        tokens=pieces,
        model_offsets=offsets,
        token_spans=original_token_spans(offsets, model_text, char_map, text),
    )


Span = tuple[int, int, str]


def align_labels(
    token_spans: Sequence[tuple[int, int]], spans: Iterable[Span], tag2id: Mapping[str, int]
) -> list[int]:
    """One BIO label id per piece: B-X on the first piece that overlaps a span of label X, I-X on the
    later ones, O elsewhere, IGNORE_INDEX (-100) on pieces that cover no character.

    A piece that overlaps two spans (their boundary falls inside it) goes to the earlier span;
    `boundary_misses` finds such cases.
    """
    labels = [IGNORE_INDEX if e <= s else tag2id["O"] for s, e in token_spans]
    taken = [False] * len(token_spans)
    for start, end, label in sorted(spans):
        first = True
        for i, (s, e) in enumerate(token_spans):
            if e <= s or taken[i] or e <= start or s >= end:
                continue
            labels[i] = tag2id[("B-" if first else "I-") + label]
            taken[i] = True
            first = False
    return labels


def boundary_misses(token_spans: Sequence[tuple[int, int]], spans: Iterable[Span]) -> list[tuple[Span, int]]:
    """(span, boundary) for every span start or end that falls strictly inside a piece: spans the
    piece-level tagger cannot reproduce exactly."""
    misses: list[tuple[Span, int]] = []
    for span in spans:
        for boundary in (span[0], span[1]):
            if any(s < boundary < e for s, e in token_spans):
                misses.append((span, boundary))
    return misses
