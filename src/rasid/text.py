"""Arabic text helpers: the model-input normalisation with its offset map, whitespace words, light
normalisation for relation facts.

Articles are never changed: `normalize_for_model` builds the string the encoder sees and a map from
each of its characters back to the original, so every offset the model produces lands in the
original text (contract.md §1).

Normalisation choices (model input only):
- removed: harakat and tanwin (U+064B–U+065F, incl. the combining maddah/hamza U+0653–U+0655),
  superscript alef (U+0670), Quranic annotation marks (U+0610–U+061A, U+06D6–U+06ED), tatweel
  (U+0640) and invisible format characters (LRM/RLM/ALM, ZWJ/ZWNJ, BOM) that news feeds scatter
  through tokens (NewsFANE starts most tokens with U+200E). They carry no identity of a name and
  news writes them inconsistently (إنَّ / إن, حـمـص / حمص).
- alef forms أ إ آ ٱ (and the rare wavy-hamza alefs U+0672/U+0673) → ا: writers drop or swap the
  hamza on alef freely (اسرائيل / إسرائيل, الاسد / الأسد), and web text — the encoder's pretraining
  data — is full of both spellings, so the merged form is well represented in the vocabulary.
- kept: ؤ ئ ء. Hamza on waw/yeh is written consistently in news, and unifying it (رئيس → رييس,
  مؤتمر → موتمر) would produce spellings that are rare in the pretraining text and split into
  unfamiliar pieces.
- kept: ى vs ي and ة vs ه. They distinguish words (على the preposition vs علي the name) and
  Levantine and Gulf news, our domain, keeps them apart; merging them would again create spellings
  the pretrained vocabulary sees less often.
- Arabic presentation forms (U+FB50–U+FDFF, U+FE70–U+FEFC: ﻻ, ﷲ) become their letters (NFKC), each
  mapped to the one original character; everything else is one character to one or a deletion, so
  the map is non-decreasing (strictly increasing where no ligature was expanded).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "ALEF_FORMS",
    "is_removed_mark",
    "light_normalize",
    "normalize_for_model",
    "whitespace_words",
]

ALEF_FORMS = "\u0622\u0623\u0625\u0671\u0672\u0673"  # آ أ إ ٱ and the wavy-hamza alefs
_ALEF = "\u0627"
_TATWEEL = "\u0640"
_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u061c\ufeff\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e"


def _is_arabic_mark(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x064B <= cp <= 0x065F
        or cp == 0x0670
        or 0x0610 <= cp <= 0x061A
        or 0x06D6 <= cp <= 0x06DC
        or 0x06DF <= cp <= 0x06E4
        or 0x06E7 <= cp <= 0x06E8
        or 0x06EA <= cp <= 0x06ED
    )


def is_removed_mark(ch: str) -> bool:
    """True for characters that decorate the letter before them: diacritics, Quranic marks, tatweel.

    Span decoding extends an entity's end over these so a name keeps its last harakah.
    """
    return ch == _TATWEEL or _is_arabic_mark(ch)


_PRESENTATION_FORMS = ("\ufb50", "\ufdff", "\ufe70", "\ufefc")
_ALEF_TABLE = {ord(a): _ALEF for a in ALEF_FORMS}


def normalize_for_model(text: str) -> tuple[str, list[int]]:
    """Return (normalised text, offset map): map[i] is the index in `text` of normalised char i.

    The map is non-decreasing (strictly, unless a ligature expanded) and every value is a valid index
    into `text`.
    """
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        if is_removed_mark(ch) or ch in _INVISIBLE:
            continue
        if _PRESENTATION_FORMS[0] <= ch <= _PRESENTATION_FORMS[1] or _PRESENTATION_FORMS[2] <= ch <= _PRESENTATION_FORMS[3]:
            # ligatures such as ﻻ expand to several letters, all mapped to the one original character
            for sub in unicodedata.normalize("NFKC", ch).translate(_ALEF_TABLE):
                if not is_removed_mark(sub):
                    out.append(sub)
                    offsets.append(i)
            continue
        out.append(_ALEF if ch in ALEF_FORMS else ch)
        offsets.append(i)
    return "".join(out), offsets


_LIGHT_REMOVE = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed\u0640]")


def light_normalize(s: str) -> str:
    """Relation-fact normalisation (contract.md §3): strip diacritics and tatweel, unify alef forms.

    Also trims and collapses whitespace so that facts compare equal however the mention was spaced.
    """
    s = _LIGHT_REMOVE.sub("", s).translate(_ALEF_TABLE)
    return " ".join(s.split())


_WORD = re.compile(r"\S+")


def whitespace_words(text: str) -> list[tuple[int, int]]:
    """(start, end) of each maximal run of non-whitespace characters: the scoring words of contract.md §3."""
    return [m.span() for m in _WORD.finditer(text)]
