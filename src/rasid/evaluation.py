"""Scores of contract.md §3: entity spans (seqeval over words, and exact), relations, facts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from rasid.articles import Article
from rasid.errors import RasidDataError
from rasid.ner.decoding import spans_to_word_tags
from rasid.schema import NO_RELATION, Schema
from rasid.text import light_normalize, whitespace_words

__all__ = ["prf", "score_articles", "score_relations", "format_report"]

SEQEVAL_SCHEME = "seqeval IOB2 strict over whitespace words"


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def _table(counts: dict[str, Counter], labels: Iterable[str]) -> tuple[dict, dict]:
    per_label = {}
    total = Counter()
    for label in labels:
        c = counts.get(label, Counter())
        per_label[label] = {**prf(c["tp"], c["fp"], c["fn"]), "support": c["tp"] + c["fn"]}
        total.update(c)
    return prf(total["tp"], total["fp"], total["fn"]), per_label


def _entity_seqeval(pairs: list[tuple[Article, Article]], labels: list[str]) -> dict:
    y_true, y_pred = [], []
    for gold, pred in pairs:
        words = whitespace_words(gold.text)
        if not words:
            continue
        y_true.append(spans_to_word_tags(gold.text, [(e.start, e.end, e.label) for e in gold.entities], words))
        y_pred.append(spans_to_word_tags(gold.text, [(e.start, e.end, e.label) for e in pred.entities], words))
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, zero_division=0, output_dict=True) if y_true else {}
    per_label = {}
    for label in labels:
        row = report.get(label, {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0})
        per_label[label] = {
            "precision": round(float(row["precision"]), 4),
            "recall": round(float(row["recall"]), 4),
            "f1": round(float(row["f1-score"]), 4),
            "support": int(row["support"]),
        }
    micro = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
    return {
        "micro": {k: round(float(micro[s]), 4) for k, s in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score"))},
        "per_label": per_label,
        "scheme": SEQEVAL_SCHEME,
    }


def _entity_exact(pairs: list[tuple[Article, Article]], labels: list[str]) -> dict:
    counts: dict[str, Counter] = defaultdict(Counter)
    boundary_errors = type_errors = 0
    for gold, pred in pairs:
        g = {(e.start, e.end, e.label) for e in gold.entities}
        p = {(e.start, e.end, e.label) for e in pred.entities}
        g_spans = {(s, e): lab for s, e, lab in g}
        for s, e, lab in p - g:
            counts[lab]["fp"] += 1
            if (s, e) in g_spans:
                type_errors += 1
            elif any(gs < e and s < ge for gs, ge in g_spans):
                boundary_errors += 1
        for _, _, lab in g - p:
            counts[lab]["fn"] += 1
        for _, _, lab in g & p:
            counts[lab]["tp"] += 1
    micro, per_label = _table(counts, labels)
    return {"micro": micro, "per_label": per_label, "errors": {"wrong_type": type_errors, "wrong_boundary": boundary_errors}}


def _relation_keys(article: Article, symmetric: set[str], where: str) -> dict[tuple, str]:
    """Map (head span, tail span) to the relation label; symmetric pairs in text order."""
    by_id = article.entity_by_id()
    keys = {}
    for rel in article.relations:
        if rel.head not in by_id or rel.tail not in by_id:
            missing = rel.head if rel.head not in by_id else rel.tail
            raise RasidDataError(f"relation {rel.label} points to missing entity '{missing}'", path=where, record=f"article {article.id}")
        h, t = by_id[rel.head], by_id[rel.tail]
        hk, tk = (h.start, h.end, h.label), (t.start, t.end, t.label)
        if rel.label in symmetric and tk < hk:
            hk, tk = tk, hk
        keys[(hk, tk)] = rel.label
    return keys


def _facts(article: Article, symmetric: set[str]) -> set[tuple[str, str, str]]:
    by_id = article.entity_by_id()
    facts = set()
    for rel in article.relations:
        if rel.head in by_id and rel.tail in by_id:
            h, t = light_normalize(by_id[rel.head].text), light_normalize(by_id[rel.tail].text)
            if rel.label in symmetric and t < h:
                h, t = t, h
            facts.add((h, rel.label, t))
    return facts


def _relations(pairs: list[tuple[Article, Article]], schema: Schema, where: str) -> tuple[dict, dict]:
    symmetric = schema.symmetric_relations
    labels = schema.relation_labels
    counts: dict[str, Counter] = defaultdict(Counter)
    fact_counts: dict[str, Counter] = defaultdict(Counter)
    confusion: dict[str, Counter] = defaultdict(Counter)
    for gold, pred in pairs:
        g, p = _relation_keys(gold, symmetric, where), _relation_keys(pred, symmetric, where)
        for key in set(g) | set(p):
            gl, pl = g.get(key), p.get(key)
            confusion[gl or NO_RELATION][pl or NO_RELATION] += 1
            if gl and gl == pl:
                counts[gl]["tp"] += 1
                continue
            if gl:
                counts[gl]["fn"] += 1
            if pl:
                counts[pl]["fp"] += 1
        gf, pf = _facts(gold, symmetric), _facts(pred, symmetric)
        for _, lab, _ in gf & pf:
            fact_counts[lab]["tp"] += 1
        for _, lab, _ in gf - pf:
            fact_counts[lab]["fn"] += 1
        for _, lab, _ in pf - gf:
            fact_counts[lab]["fp"] += 1
    micro, per_label = _table(counts, labels)
    fmicro, fper_label = _table(fact_counts, labels)
    order = labels + [NO_RELATION]
    matrix = {"labels": order, "rows_gold_cols_pred": [[confusion[g][p] for p in order] for g in order]}
    return (
        {"micro": micro, "per_label": per_label, "confusion": matrix, "match": "label and both entity spans exact; symmetric labels either order"},
        {"micro": fmicro, "per_label": fper_label, "match": "(head, label, tail) texts after light normalisation, once per article"},
    )


def _paired(gold: list[Article], pred: list[Article], where: str) -> list[tuple[Article, Article]]:
    pred_by_id = {a.id: a for a in pred}
    pairs = []
    for g in gold:
        p = pred_by_id.get(g.id)
        if p is None:
            raise RasidDataError(f"no prediction for article {g.id}", path=where)
        if p.text != g.text:
            raise RasidDataError("predicted article text differs from the gold text", path=where, record=f"article {g.id}")
        pairs.append((g, p))
    return pairs


def score_relations(gold: list[Article], pred: list[Article], schema: Schema, where: str = "gold") -> dict:
    """The report's `relations` section alone (no entity scoring), for sweeps over thresholds."""
    return _relations(_paired(gold, pred, where), schema, where)[0]


def score_articles(gold: list[Article], pred: list[Article], schema: Schema, where: str = "gold") -> dict:
    """Score predictions against gold articles matched by id; returns the report of contract.md §3."""
    pairs = _paired(gold, pred, where)
    relations, facts = _relations(pairs, schema, where)
    return {
        "entities": _entity_seqeval(pairs, schema.entity_labels),
        "entities_exact": _entity_exact(pairs, schema.entity_labels),
        "relations": relations,
        "relation_facts": facts,
        "documents": len(pairs),
    }


def format_report(report: dict) -> str:
    """A readable table of the report for the terminal and the README."""
    lines = []
    for key, title in (("entities", "Entities (seqeval strict, words)"), ("entities_exact", "Entities (exact spans)"),
                       ("relations", "Relations (strict)"), ("relation_facts", "Relation facts")):
        section = report.get(key)
        if not section:
            continue
        lines.append(f"{title}")
        lines.append(f"  {'label':<16}{'P':>8}{'R':>8}{'F1':>8}{'n':>7}")
        for label, row in section.get("per_label", {}).items():
            lines.append(f"  {label:<16}{row['precision']:>8.3f}{row['recall']:>8.3f}{row['f1']:>8.3f}{row.get('support', ''):>7}")
        m = section["micro"]
        lines.append(f"  {'micro':<16}{m['precision']:>8.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}")
        lines.append("")
    lines.append(f"documents: {report.get('documents', 0)}")
    return "\n".join(lines)
