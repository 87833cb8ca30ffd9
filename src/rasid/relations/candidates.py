"""Which entity pairs the relation classifier looks at.

A pair is a candidate when the schema allows some relation between its types, the mentions lie
within `max_distance` characters, and at most `sentence_window` sentence breaks separate them
(a title and its sub-title, a quote and its attribution). Both orders are candidates, since
most relations are directed; symmetric labels are folded back to text order when decoded.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from rasid.articles import Article, Entity, Relation
from rasid.schema import Schema

__all__ = ["Candidate", "sentence_starts", "candidate_pairs", "gold_labels", "canonical_relations"]

# Sentence breaks in Arabic news: line breaks and full stops, including the Arabic question mark.
_SENTENCE_END = re.compile(r"[.!?؟]+[\s»\"']*\s|\n+")


@dataclass(frozen=True)
class Candidate:
    head: int  # index into the article's entity list
    tail: int


def sentence_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _SENTENCE_END.finditer(text)]


def candidate_pairs(article: Article, schema: Schema, max_distance: int, sentence_window: int,
                    max_partners: int | None = None) -> list[Candidate]:
    """Candidates in a fixed order (head, then tail, by entity index).

    `max_partners` keeps, for each mention, only its nearest partners (by character gap); a pair
    stays when either end counts the other among its nearest. Without it an article written as
    one long unpunctuated paragraph pairs every mention with every other: quadratic work for
    pairs that almost never hold a relation.
    """
    ents = article.entities
    starts = sentence_starts(article.text)
    sent = [bisect.bisect_right(starts, e.start) - 1 for e in ents]
    order = sorted(range(len(ents)), key=lambda k: ents[k].start)
    gaps: dict[tuple[int, int], int] = {}
    for x, i in enumerate(order):
        a = ents[i]
        # mentions sorted by start: once a later one starts past max_distance, all the rest do
        for j in order[x + 1 :]:
            b = ents[j]
            if b.start - a.end > max_distance:
                break
            gap = max(a.start, b.start) - min(a.end, b.end)
            if gap > max_distance or abs(sent[i] - sent[j]) > sentence_window:
                continue
            if schema.pair_allowed(a.label, b.label):
                gaps[(i, j)] = gap
            if schema.pair_allowed(b.label, a.label):
                gaps[(j, i)] = gap
    if max_partners is not None:
        near: dict[int, list[tuple[int, int]]] = {}
        for (i, j), gap in gaps.items():
            near.setdefault(i, []).append((gap, j))
            near.setdefault(j, []).append((gap, i))
        keep = {i: {j for _, j in sorted(set(ps))[:max_partners]} for i, ps in near.items()}
        gaps = {(i, j): g for (i, j), g in gaps.items() if j in keep[i] or i in keep[j]}
    return [Candidate(i, j) for i, j in sorted(gaps)]


def gold_labels(article: Article, candidates: list[Candidate], schema: Schema) -> list[str | None]:
    """The gold label of each candidate (None = no relation); symmetric labels count both ways."""
    index = {e.id: k for k, e in enumerate(article.entities)}
    gold: dict[tuple[int, int], str] = {}
    for rel in article.relations:
        if rel.head not in index or rel.tail not in index:
            continue
        h, t = index[rel.head], index[rel.tail]
        gold[(h, t)] = rel.label
        if rel.label in schema.symmetric_relations:
            gold[(t, h)] = rel.label
    return [gold.get((c.head, c.tail)) for c in candidates]


def canonical_relations(entities: list[Entity], scored: list[tuple[Candidate, str, float]], schema: Schema) -> list[Relation]:
    """One relation per entity pair: symmetric labels stored once, head first in the text."""
    best: dict[tuple[int, int], tuple[str, float]] = {}
    for cand, label, score in scored:
        h, t = cand.head, cand.tail
        if label in schema.symmetric_relations and (entities[t].start, entities[t].end) < (entities[h].start, entities[h].end):
            h, t = t, h
        if not schema.relation_allowed(label, entities[h].label, entities[t].label):
            continue
        key = (h, t) if label not in schema.symmetric_relations else tuple(sorted((h, t)))
        if key not in best or score > best[key][1]:
            best[key] = (label, score)
    relations = []
    for (h, t), (label, score) in sorted(best.items(), key=lambda kv: (entities[kv[0][0]].start, entities[kv[0][1]].start)):
        if label in schema.symmetric_relations and entities[t].start < entities[h].start:
            h, t = t, h
        relations.append(Relation(head=entities[h].id, tail=entities[t].id, label=label, score=score))
    return relations
