"""Inter-annotator agreement between the gold pass and an independent second pass.

Entity F1: exact character span and label. Relation F1: label and both spans; symmetric
relations match in either order. Pass 1 plays "gold", pass 2 "prediction" (F1 is symmetric).
"""

from __future__ import annotations

from dataclasses import dataclass

from rasid.articles import Article
from rasid.schema import Schema

__all__ = ["Agreement", "compare_passes"]


@dataclass
class Agreement:
    entity_matches: int = 0
    entities_a: int = 0
    entities_b: int = 0
    relation_matches: int = 0
    relations_a: int = 0
    relations_b: int = 0
    articles: int = 0

    @staticmethod
    def _f1(match: int, a: int, b: int) -> float:
        return 2 * match / (a + b) if a + b else 1.0

    @property
    def entity_f1(self) -> float:
        return self._f1(self.entity_matches, self.entities_a, self.entities_b)

    @property
    def relation_f1(self) -> float:
        return self._f1(self.relation_matches, self.relations_a, self.relations_b)

    def add(self, a: Article, b: Article, schema: Schema) -> None:
        ents_a = {(e.start, e.end, e.label) for e in a.entities}
        ents_b = {(e.start, e.end, e.label) for e in b.entities}
        rels_a, rels_b = _relation_keys(a, schema), _relation_keys(b, schema)
        self.articles += 1
        self.entity_matches += len(ents_a & ents_b)
        self.entities_a += len(ents_a)
        self.entities_b += len(ents_b)
        self.relation_matches += len(rels_a & rels_b)
        self.relations_a += len(rels_a)
        self.relations_b += len(rels_b)


def _relation_keys(art: Article, schema: Schema) -> set[tuple]:
    span = {e.id: (e.start, e.end, e.label) for e in art.entities}
    keys = set()
    for r in art.relations:
        head, tail = span[r.head], span[r.tail]
        if r.label in schema.symmetric_relations:
            head, tail = sorted((head, tail))
        keys.add((head, r.label, tail))
    return keys


def compare_passes(pairs: list[tuple[Article, Article]], schema: Schema) -> Agreement:
    """Micro-averaged agreement over (pass 1, pass 2) article pairs."""
    out = Agreement()
    for a, b in pairs:
        out.add(a, b, schema)
    return out
