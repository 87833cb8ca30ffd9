"""Articles → marked windows with their candidate pairs, for training and for prediction."""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass

import torch

from rasid.articles import Article, Relation
from rasid.relations.candidates import Candidate, candidate_pairs, canonical_relations, gold_labels, sentence_starts
from rasid.relations.markers import mark_window, window_ranges
from rasid.relations.model import RelationClassifier
from rasid.schema import Schema

log = logging.getLogger(__name__)

__all__ = ["WindowPairs", "article_windows", "training_examples", "collate_pairs", "predict_relations"]

CHARS_PER_PIECE = 2  # first guess of the character budget of a window; halved until it fits


@dataclass
class WindowPairs:
    input_ids: list[int]
    pairs: list[tuple[int, int]]  # marker positions (head, tail)
    candidates: list[Candidate]


def article_windows(article: Article, candidates: list[Candidate], tokenizer, max_length: int, normalize: bool) -> list[WindowPairs]:
    """Group the candidates of one article into as few encoder windows as fit `max_length`."""
    if not candidates:
        return []
    text, ents = article.text, article.entities
    starts = sentence_starts(text)
    budget = max(64, max_length * CHARS_PER_PIECE)
    pending = list(candidates)
    out: list[WindowPairs] = []
    while pending and budget >= 16:
        for lo, hi in window_ranges(text, starts, budget):
            inside = [c for c in pending if min(ents[c.head].start, ents[c.tail].start) >= lo and max(ents[c.head].end, ents[c.tail].end) <= hi]
            if not inside:
                continue
            members = [k for k, e in enumerate(ents) if e.start >= lo and e.end <= hi]
            win = mark_window(text, ents, members, (lo, hi), tokenizer, normalize)
            if len(win.input_ids) > max_length:
                continue  # retried below with a smaller budget
            placed = [c for c in inside if c.head in win.marker_pos and c.tail in win.marker_pos]
            out.append(WindowPairs(win.input_ids, [(win.marker_pos[c.head], win.marker_pos[c.tail]) for c in placed], placed))
            done = set(placed)
            pending = [c for c in pending if c not in done]
        budget //= 2
    if pending:
        log.warning("article %s: %d candidate pairs fit no window of %d pieces and were skipped", article.id, len(pending), max_length)
    return out


def training_examples(articles: list[Article], schema: Schema, tokenizer, cfg, normalize: bool, seed: int) -> tuple[list[dict], Counter]:
    """One example per window; negatives sampled to `cfg.negative_ratio` per positive."""
    rng = random.Random(seed)
    label_id = {lab: i for i, lab in enumerate(schema.relation_labels)}
    none = len(label_id)
    examples, counts = [], Counter()
    for art in articles:
        cands = candidate_pairs(art, schema, cfg.max_distance, cfg.sentence_window)
        golds = dict(zip(cands, gold_labels(art, cands, schema)))
        for win in article_windows(art, cands, tokenizer, cfg.max_length, normalize):
            pos = [i for i, c in enumerate(win.candidates) if golds[c]]
            neg = [i for i, c in enumerate(win.candidates) if not golds[c]]
            keep_neg = max(1, int(round(cfg.negative_ratio * len(pos)))) if pos else min(2, len(neg))
            chosen = sorted(pos + rng.sample(neg, min(len(neg), keep_neg)))
            if not chosen:
                continue
            labels = [label_id[golds[win.candidates[i]]] if golds[win.candidates[i]] else none for i in chosen]
            counts.update(schema.relation_labels[lab] if lab != none else "NONE" for lab in labels)
            examples.append({"input_ids": win.input_ids, "pairs": [win.pairs[i] for i in chosen], "labels": labels})
    return examples, counts


def collate_pairs(batch: list[dict], pad_id: int) -> dict:
    width = max(len(ex["input_ids"]) for ex in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    pairs, labels = [], []
    for b, ex in enumerate(batch):
        ids[b, : len(ex["input_ids"])] = torch.tensor(ex["input_ids"])
        mask[b, : len(ex["input_ids"])] = 1
        pairs.extend((b, h, t) for h, t in ex["pairs"])
        labels.extend(ex.get("labels", []))
    out = {"input_ids": ids, "attention_mask": mask, "pairs": torch.tensor(pairs, dtype=torch.long).reshape(-1, 3)}
    if labels:
        out["labels"] = torch.tensor(labels, dtype=torch.long)
    return out


def _allowed_mask(article: Article, cands: list[Candidate], schema: Schema) -> torch.Tensor:
    ents = article.entities
    rows = []
    for c in cands:
        h, t = ents[c.head].label, ents[c.tail].label
        rows.append([schema.relation_allowed(lab, h, t) for lab in schema.relation_labels] + [True])
    return torch.tensor(rows, dtype=torch.bool)


@torch.inference_mode()
def predict_relations(model: RelationClassifier, articles: list[Article], schema: Schema, tokenizer, cfg, normalize: bool, batch_size: int = 8) -> list[list[Relation]]:
    """Relations for each article from its (gold or predicted) entities."""
    model.eval()
    pad_id = tokenizer.pad_token_id or 0
    results: list[list[Relation]] = []
    for art in articles:
        cands = candidate_pairs(art, schema, cfg.max_distance, cfg.sentence_window)
        windows = article_windows(art, cands, tokenizer, cfg.max_length, normalize)
        scored = []
        for i in range(0, len(windows), batch_size):
            chunk = windows[i : i + batch_size]
            batch = collate_pairs([{"input_ids": w.input_ids, "pairs": w.pairs} for w in chunk], pad_id)
            probs = model.pair_logits(**batch).softmax(-1)
            flat = [c for w in chunk for c in w.candidates]
            probs = probs.masked_fill(~_allowed_mask(art, flat, schema), 0.0)
            for c, p in zip(flat, probs):
                best = int(p[:-1].argmax())
                if float(p[best]) >= cfg.threshold and float(p[best]) > float(p[-1]):
                    scored.append((c, schema.relation_labels[best], float(p[best])))
        results.append(canonical_relations(art.entities, scored, schema))
    return results
