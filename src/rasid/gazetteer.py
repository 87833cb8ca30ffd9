"""A dictionary baseline: tag every string that was an entity in the training articles.

No model, seconds to run. The error notebook falls back on it when it is given no predictions,
so that it runs from a clean clone; it is also the floor a trained model should clear.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from rasid.articles import Article, Entity
from rasid.text import light_normalize, whitespace_words

__all__ = ["build_gazetteer", "gazetteer_predict"]

# One-letter proclitics written attached to the next word (و ف ب ل ك); the name starts after them.
PROCLITICS = "وفبلك"
_PUNCT = "\"'«»()[]{}،,.:;!?؟؛"


def build_gazetteer(articles: Iterable[Article], min_chars: int = 2) -> dict[str, str]:
    """Lightly normalised entity text → its most frequent label in `articles`."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for art in articles:
        for e in art.entities:
            key = light_normalize(e.text.strip())
            if len(key) >= min_chars:
                votes[key][e.label] += 1
    return {k: c.most_common(1)[0][0] for k, c in votes.items()}


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start] in _PUNCT or text[start].isspace()):
        start += 1
    while end > start and (text[end - 1] in _PUNCT or text[end - 1].isspace()):
        end -= 1
    return start, end


def gazetteer_predict(articles: Iterable[Article], gazetteer: dict[str, str], max_words: int = 6) -> list[Article]:
    """Longest match over whitespace words, left to right; a proclitic before the first word may stay outside."""
    longest = max((len(k.split()) for k in gazetteer), default=0)
    max_words = min(max_words, longest)
    out = []
    for art in articles:
        text, words = art.text, whitespace_words(art.text)
        entities: list[Entity] = []
        i = 0
        while i < len(words):
            found = None
            for n in range(min(max_words, len(words) - i), 0, -1):
                start, end = _strip(text, words[i][0], words[i + n - 1][1])
                candidates = [start]
                if end - start > 3 and text[start] in PROCLITICS:
                    candidates.append(start + 1)
                for s in candidates:
                    label = gazetteer.get(light_normalize(text[s:end]))
                    if label and s < end:
                        found = (s, end, label, n)
                        break
                if found:
                    break
            if found:
                s, e, label, n = found
                entities.append(Entity(id=f"e{len(entities)}", start=s, end=e, label=label, text=text[s:e], score=1.0))
                i += n
            else:
                i += 1
        out.append(Article(id=art.id, text=text, entities=entities, relations=[], meta=art.meta))
    return out
