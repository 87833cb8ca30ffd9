"""Articles → marked windows with their candidate pairs, for training and for prediction."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rasid.articles import Article, Relation
from rasid.ner.tagger import softmax
from rasid.relations.candidates import Candidate, candidate_pairs, canonical_relations, gold_labels, sentence_starts
from rasid.relations.markers import mark_window, window_ranges
from rasid.schema import Schema

log = logging.getLogger(__name__)

__all__ = ["WindowPairs", "article_windows", "training_examples", "collate_pairs", "pad_windows", "score_candidates", "select_relations",
           "predict_relations", "torch_pair_logits"]

CHARS_PER_PIECE = 2  # first guess of the character budget of a window; halved where markers overflow it


@dataclass
class WindowPairs:
    input_ids: list[int]
    pairs: list[tuple[int, int]]  # marker positions (head, tail)
    candidates: list[Candidate]


def _word_bounds(text: str, lo: int, hi: int) -> tuple[int, int]:
    """Widen [lo, hi) to whole words so no marker lands inside one."""
    while lo > 0 and not text[lo - 1].isspace():
        lo -= 1
    while hi < len(text) and not text[hi].isspace():
        hi += 1
    return lo, hi


def article_windows(article: Article, candidates: list[Candidate], tokenizer, max_length: int, normalize: bool) -> list[WindowPairs]:
    """Group the candidates of one article into few encoder windows that fit `max_length`.

    First sentence groups (most pairs sit inside one), with the character budget halved where
    the markers make a group too long; then, for pairs that straddle groups, windows around the
    pairs themselves, each grown over the next pairs while it fits. Every window is tokenized
    once (plus one failed trial per window), so the cost grows with the number of windows, not
    with the number of pairs.
    """
    if not candidates:
        return []
    text, ents = article.text, article.entities
    pending = list(candidates)
    out: list[WindowPairs] = []

    def try_window(lo: int, hi: int, pairs: list[Candidate]) -> WindowPairs | None:
        members = [k for k, e in enumerate(ents) if e.start >= lo and e.end <= hi]
        win = mark_window(text, ents, members, (lo, hi), tokenizer, normalize)
        if len(win.input_ids) > max_length:
            return None
        placed = [c for c in pairs if c.head in win.marker_pos and c.tail in win.marker_pos]
        return WindowPairs(win.input_ids, [(win.marker_pos[c.head], win.marker_pos[c.tail]) for c in placed], placed)

    def span(c: Candidate) -> tuple[int, int]:
        return min(ents[c.head].start, ents[c.tail].start), max(ents[c.head].end, ents[c.tail].end)

    def inside(lo: int, hi: int) -> list[Candidate]:
        return [c for c in pending if span(c)[0] >= lo and span(c)[1] <= hi]

    def place(win: WindowPairs) -> None:
        nonlocal pending
        out.append(win)
        done = set(win.candidates)
        pending = [c for c in pending if c not in done]

    budget = max(64, max_length * CHARS_PER_PIECE)
    while pending and budget >= 64:
        for lo, hi in window_ranges(text, sentence_starts(text), budget):
            pairs = inside(lo, hi)
            win = try_window(lo, hi, pairs) if pairs else None
            if win and win.candidates:
                place(win)
        budget //= 2

    pending.sort(key=span)
    skipped = 0
    while pending:
        lo, hi = _word_bounds(text, *span(pending[0]))
        best = try_window(lo, hi, inside(lo, hi))
        if best is None or not best.candidates:
            skipped += 1
            pending.pop(0)
            continue
        # grow over the next pair that does not fit yet; pairs inside the range come for free
        for c in pending:
            if span(c)[0] >= lo and span(c)[1] <= hi:
                continue
            nlo, nhi = _word_bounds(text, min(lo, span(c)[0]), max(hi, span(c)[1]))
            trial = try_window(nlo, nhi, inside(nlo, nhi))
            if trial is None:
                break
            lo, hi, best = nlo, nhi, trial
        place(best)
    if skipped:
        log.warning("article %s: %d candidate pairs span more than %d pieces and were skipped", article.id, skipped, max_length)
    return out


def training_examples(articles: list[Article], schema: Schema, tokenizer, cfg, normalize: bool, seed: int) -> tuple[list[dict], Counter]:
    """One example per window; negatives sampled to `cfg.negative_ratio` per positive."""
    rng = random.Random(seed)
    label_id = {lab: i for i, lab in enumerate(schema.relation_labels)}
    none = len(label_id)
    examples, counts = [], Counter()
    for art in articles:
        cands = candidate_pairs(art, schema, cfg.max_distance, cfg.sentence_window, cfg.max_partners)
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


def pad_windows(rows: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask


def collate_pairs(batch: list[dict], pad_id: int) -> dict:
    import torch

    ids, mask = pad_windows([ex["input_ids"] for ex in batch], pad_id)
    pairs = [(b, h, t) for b, ex in enumerate(batch) for h, t in ex["pairs"]]
    labels = [lab for ex in batch for lab in ex.get("labels", [])]
    out = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
           "pairs": torch.tensor(pairs, dtype=torch.long).reshape(-1, 3)}
    if labels:
        out["labels"] = torch.tensor(labels, dtype=torch.long)
    return out


def _allowed_mask(article: Article, cands: list[Candidate], schema: Schema) -> np.ndarray:
    ents = article.entities
    rows = []
    for c in cands:
        h, t = ents[c.head].label, ents[c.tail].label
        rows.append([schema.relation_allowed(lab, h, t) for lab in schema.relation_labels] + [True])
    return np.array(rows, dtype=bool)


DEFAULT_WINDOW_BATCH = 8  # marked windows per encoder call in training-time evaluation
PairLogitsFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def torch_pair_logits(model) -> PairLogitsFn:
    import torch

    @torch.inference_mode()
    def run(input_ids: np.ndarray, attention_mask: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        model.eval()
        device = next(model.parameters()).device  # evaluation during GPU training runs where the model is
        def on(a: np.ndarray):
            return torch.from_numpy(a).to(device)

        return model.pair_logits(on(input_ids), on(attention_mask), on(pairs)).float().cpu().numpy()

    return run


def score_candidates(logits_fn: PairLogitsFn, articles: list[Article], schema: Schema, tokenizer, cfg, normalize: bool,
                     pad_id: int, batch_size: int = DEFAULT_WINDOW_BATCH) -> list[list[tuple[Candidate, str, float]]]:
    """Every candidate pair of each article with its most probable relation the schema allows."""
    results: list[list[tuple[Candidate, str, float]]] = []
    for art in articles:
        cands = candidate_pairs(art, schema, cfg.max_distance, cfg.sentence_window, cfg.max_partners)
        windows = article_windows(art, cands, tokenizer, cfg.max_length, normalize)
        scored = []
        for i in range(0, len(windows), batch_size):
            chunk = windows[i : i + batch_size]
            ids, mask = pad_windows([w.input_ids for w in chunk], pad_id)
            pairs = np.array([(b, h, t) for b, w in enumerate(chunk) for h, t in w.pairs], dtype=np.int64).reshape(-1, 3)
            flat = [c for w in chunk for c in w.candidates]
            probs = softmax(np.asarray(logits_fn(ids, mask, pairs), dtype=np.float32))
            probs = np.where(_allowed_mask(art, flat, schema), probs, 0.0)
            for c, p in zip(flat, probs):
                best = int(p[:-1].argmax())
                scored.append((c, schema.relation_labels[best], float(p[best])))
        results.append(scored)
    return results


def select_relations(articles: list[Article], scored: list[list[tuple[Candidate, str, float]]], schema: Schema,
                     threshold: float) -> list[list[Relation]]:
    """Pairs whose best relation reaches `threshold`, folded to one relation per entity pair."""
    return [canonical_relations(art.entities, [x for x in rows if x[2] >= threshold], schema) for art, rows in zip(articles, scored)]


def predict_relations(logits_fn: PairLogitsFn, articles: list[Article], schema: Schema, tokenizer, cfg, normalize: bool,
                      pad_id: int, batch_size: int = DEFAULT_WINDOW_BATCH) -> list[list[Relation]]:
    """Relations for each article from its (gold or predicted) entities, with any backend."""
    scored = score_candidates(logits_fn, articles, schema, tokenizer, cfg, normalize, pad_id, batch_size)
    return select_relations(articles, scored, schema, cfg.threshold)
