"""Relation stage of `rasid train`: gold entities in, the best pair classifier out."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from transformers import AutoModel, AutoTokenizer

from rasid.articles import Article
from rasid.config import RunConfig
from rasid.evaluation import score_relations
from rasid.io import atomic_dir
from rasid.relations.model import RelationClassifier
from rasid.relations.pipeline import collate_pairs, score_candidates, select_relations, torch_pair_logits, training_examples
from rasid.schema import Schema
from rasid.training import FitResult, fit

log = logging.getLogger(__name__)

RELATIONS_DIR = "relations"


THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(2, 19))  # 0.10 … 0.90


def relation_dev_f1(model, dev: list[Article], schema: Schema, tokenizer, cfg: RunConfig) -> float:
    """Strict relation F1 on dev with gold entities (the classifier alone, not the NER errors), at
    the decision threshold that maximises it; the threshold is kept on the model and saved with it.

    Without this the first epochs, still close to the no-relation prior, score 0 at a fixed 0.5
    and early stopping cannot tell them apart.
    """
    scored = score_candidates(torch_pair_logits(model), dev, schema, tokenizer, cfg.relations, cfg.model.normalize,
                              tokenizer.pad_token_id or 0)
    best_f1, best_t = -1.0, cfg.relations.threshold
    for t in THRESHOLDS:
        rels = select_relations(dev, scored, schema, t)
        pred = [Article(a.id, a.text, a.entities, r, a.meta) for a, r in zip(dev, rels)]
        f1 = score_relations(dev, pred, schema)["micro"]["f1"]
        if f1 > best_f1:
            best_f1, best_t = f1, t
    model.threshold = best_t
    log.info("relations: dev F1 %.4f at threshold %.2f", best_f1, best_t)
    return best_f1


def train_relations(cfg: RunConfig, schema: Schema, train: list[Article], dev: list[Article], encoder_path: Path, out_dir: Path, accelerator) -> FitResult:
    tokenizer = AutoTokenizer.from_pretrained(encoder_path)
    examples, counts = training_examples(train, schema, tokenizer, cfg.relations, cfg.model.normalize, cfg.training.seed)
    log.info("relation training pairs: %s", dict(counts))
    if not examples:
        raise ValueError("relations are enabled but no candidate pair of the training data fits the schema")
    encoder = AutoModel.from_pretrained(encoder_path, add_pooling_layer=False)
    if cfg.training.freeze_word_embeddings:
        encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    model = RelationClassifier(encoder, schema.relation_labels, dropout=cfg.training.dropout)
    tcfg = type(cfg.training)(**{**cfg.training.__dict__, "lr": cfg.relations.lr, "batch_size": cfg.relations.batch_size,
                                "epochs": cfg.relations.epochs, "head_lr": cfg.training.head_lr})
    best_dir = out_dir / RELATIONS_DIR

    def save_best(m: RelationClassifier) -> None:
        with atomic_dir(best_dir) as tmp:
            m.save(tmp)
            tokenizer.save_pretrained(tmp)

    return fit(
        model, examples, partial(collate_pairs, pad_id=tokenizer.pad_token_id or 0), tcfg, out_dir,
        evaluate=lambda m: relation_dev_f1(m, dev, schema, tokenizer, cfg), save_best=save_best,
        stage="relations", accelerator=accelerator, head_prefixes=("head",),
    )
