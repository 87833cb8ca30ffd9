"""Gold against predicted, one article at a time: which entity or relation is right, and how not.

The renderer marks these statuses, the error notebook counts them. Matching follows the
evaluation report (contract.md §3): entities by exact character span and label, relations by
label and both entity spans (symmetric labels in either order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from rasid.articles import Article, Entity

__all__ = [
    "OK", "MISSED", "SPURIOUS", "WRONG_TYPE", "WRONG_BOUNDARY", "OUTSIDE",
    "ArticleDiff", "diff_article", "entity_statuses", "relation_statuses", "entity_confusion", "worst_articles",
]

OK = "ok"
MISSED = "missed"  # gold only: nothing predicted that touches it
SPURIOUS = "spurious"  # prediction only: touches no gold entity
WRONG_TYPE = "wrong_type"  # same span, other label
WRONG_BOUNDARY = "wrong_boundary"  # overlaps an entity of the other side, spans differ
OUTSIDE = "O"  # the confusion row/column for "no entity here"

Span = tuple[int, int]


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _status(entity: Entity, other: list[Entity], none_status: str) -> str:
    span = (entity.start, entity.end)
    same_span = [o for o in other if (o.start, o.end) == span]
    if any(o.label == entity.label for o in same_span):
        return OK
    if same_span:
        return WRONG_TYPE
    if any(_overlaps(span, (o.start, o.end)) for o in other):
        return WRONG_BOUNDARY
    return none_status


def entity_statuses(gold: Article, pred: Article) -> tuple[dict[str, str], dict[str, str]]:
    """Status of every gold entity and every predicted entity, keyed by entity id."""
    g = {e.id: _status(e, pred.entities, MISSED) for e in gold.entities}
    p = {e.id: _status(e, gold.entities, SPURIOUS) for e in pred.entities}
    return g, p


def _relation_keys(article: Article, symmetric: set[str]) -> dict[int, tuple]:
    """Index of each relation → (head span+label, tail span+label), symmetric pairs in text order."""
    by_id = article.entity_by_id()
    keys = {}
    for i, rel in enumerate(article.relations):
        h, t = by_id.get(rel.head), by_id.get(rel.tail)
        if h is None or t is None:
            continue  # dangling ids are the validator's business; here they simply match nothing
        hk, tk = (h.start, h.end, h.label), (t.start, t.end, t.label)
        if rel.label in symmetric and tk < hk:
            hk, tk = tk, hk
        keys[i] = (hk, tk)
    return keys


def relation_statuses(gold: Article, pred: Article, symmetric: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """Status of each gold and each predicted relation, in list order.

    `wrong_type`: the same entity pair is related on the other side with another label.
    """
    symmetric = set(symmetric)
    gk, pk = _relation_keys(gold, symmetric), _relation_keys(pred, symmetric)
    g_labels: dict[tuple, set[str]] = {}
    p_labels: dict[tuple, set[str]] = {}
    for i, key in gk.items():
        g_labels.setdefault(key, set()).add(gold.relations[i].label)
    for i, key in pk.items():
        p_labels.setdefault(key, set()).add(pred.relations[i].label)

    def one(rels, keys, other, none_status):
        out = []
        for i, rel in enumerate(rels):
            labels = other.get(keys.get(i), set()) if i in keys else set()
            out.append(OK if rel.label in labels else WRONG_TYPE if labels else none_status)
        return out

    return one(gold.relations, gk, p_labels, MISSED), one(pred.relations, pk, g_labels, SPURIOUS)


@dataclass
class ArticleDiff:
    """Per-article statuses and counts; `errors` is what "worst" sorts by."""

    article_id: str
    gold_entities: dict[str, str]
    pred_entities: dict[str, str]
    gold_relations: list[str]
    pred_relations: list[str]

    @property
    def counts(self) -> Counter:
        c: Counter = Counter()
        for s in self.gold_entities.values():
            c["entities_" + s] += 1
        for s in self.pred_entities.values():
            # wrong type/boundary are counted once, on the gold side
            if s in (SPURIOUS, OK):
                c["entities_pred_" + s] += 1
        for s in self.gold_relations:
            c["relations_" + s] += 1
        for s in self.pred_relations:
            if s == SPURIOUS:
                c["relations_spurious"] += 1
        return c

    @property
    def errors(self) -> int:
        return sum(1 for s in self.gold_entities.values() if s != OK) + sum(1 for s in self.pred_entities.values() if s == SPURIOUS) \
            + sum(1 for s in self.gold_relations if s != OK) + sum(1 for s in self.pred_relations if s == SPURIOUS)


def diff_article(gold: Article, pred: Article, symmetric: Iterable[str] = ()) -> ArticleDiff:
    ge, pe = entity_statuses(gold, pred)
    gr, pr = relation_statuses(gold, pred, symmetric)
    return ArticleDiff(gold.id, ge, pe, gr, pr)


def entity_confusion(pairs: Iterable[tuple[Article, Article]], labels: list[str]) -> dict:
    """Gold label × predicted label over character spans that overlap; `O` where the other side has none.

    Each gold entity counts once: against the predicted entity with the same span if there is
    one, else the one it overlaps most, else `O`. Predicted entities that touch no gold entity
    count in the `O` row. The diagonal is a label agreement, not an exact match: boundary errors
    land on it too (see `wrong_boundary` in entity_statuses).
    """
    order = list(labels) + [OUTSIDE]
    index = {lab: i for i, lab in enumerate(order)}
    rows = [[0] * len(order) for _ in order]
    for gold, pred in pairs:
        for g in gold.entities:
            best, best_overlap = None, 0
            for p in pred.entities:
                ov = min(g.end, p.end) - max(g.start, p.start)
                exact = (p.start, p.end) == (g.start, g.end)
                if exact or ov > best_overlap:
                    best, best_overlap = p, (10**9 if exact else ov)
            pl = best.label if best is not None else OUTSIDE
            rows[index.get(g.label, index[OUTSIDE])][index.get(pl, index[OUTSIDE])] += 1
        for p in pred.entities:
            if not any(_overlaps((p.start, p.end), (g.start, g.end)) for g in gold.entities):
                rows[index[OUTSIDE]][index.get(p.label, index[OUTSIDE])] += 1
    return {"labels": order, "rows_gold_cols_pred": rows}


def worst_articles(pairs: Iterable[tuple[Article, Article]], n: int = 5, symmetric: Iterable[str] = ()) -> list[tuple[Article, Article, ArticleDiff]]:
    """The `n` article pairs with the most errors (ties: more gold entities first, then id)."""
    scored = [(g, p, diff_article(g, p, symmetric)) for g, p in pairs]
    scored.sort(key=lambda t: (-t[2].errors, -len(t[0].entities), t[0].id))
    return scored[:n]
