"""Entity stage of `rasid train`: token classification over clitic-aware pieces."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer

from rasid.articles import Article
from rasid.config import RunConfig
from rasid.evaluation import score_articles
from rasid.io import atomic_dir
from rasid.ner.alignment import IGNORE_INDEX, boundary_misses
from rasid.ner.tagger import EntityTagger, special_ids, training_features
from rasid.schema import Schema
from rasid.training import FitResult, fit

log = logging.getLogger(__name__)

NER_DIR = "ner"
NER_SETTINGS = "rasid_ner.json"


def collate_tokens(batch: Sequence[dict], pad_id: int, pad_to: int | None = None) -> dict:
    """Pad to the longest window of the batch, not to max_length (dynamic padding); `pad_to` fixes
    the width instead (the run_ner.py --pad_to_max_length baseline of the benchmarks)."""
    width = pad_to or max(len(ex["input_ids"]) for ex in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    for i, ex in enumerate(batch):
        n = len(ex["input_ids"])
        ids[i, :n] = torch.tensor(ex["input_ids"])
        mask[i, :n] = 1
        if "labels" in ex:
            labels[i, :n] = torch.tensor(ex["labels"])
    out = {"input_ids": ids, "attention_mask": mask}
    if any("labels" in ex for ex in batch):
        out["labels"] = labels
    return out


def torch_logits_fn(model: torch.nn.Module):
    device = next(model.parameters()).device  # evaluation during GPU training runs where the model is

    @torch.inference_mode()
    def run(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = model(input_ids=torch.from_numpy(input_ids).to(device), attention_mask=torch.from_numpy(attention_mask).to(device))
        return out.logits.float().cpu().numpy()

    return run


def make_tagger(model, tokenizer, schema_tags: list[str], cfg: RunConfig) -> EntityTagger:
    return EntityTagger(tokenizer, dict(enumerate(schema_tags)), torch_logits_fn(model), cfg.model.max_length, cfg.model.stride,
                        special_ids(tokenizer), normalize=cfg.model.normalize)


def train_entities(cfg: RunConfig, schema: Schema, train: list[Article], dev: list[Article], encoder_path: Path, out_dir: Path, accelerator) -> FitResult:
    tags = schema.bio_tags
    tag2id = {t: i for i, t in enumerate(tags)}
    tokenizer = AutoTokenizer.from_pretrained(encoder_path)
    ids = special_ids(tokenizer)
    tagger_for_encoding = EntityTagger(tokenizer, dict(enumerate(tags)), None, cfg.model.max_length, cfg.model.stride, ids,
                                       normalize=cfg.model.normalize)
    encodings = [tagger_for_encoding.encode(a.text) for a in train]
    spans = [[(e.start, e.end, e.label) for e in a.entities] for a in train]
    misses = sum(len(boundary_misses(enc.token_spans, sp)) for enc, sp in zip(encodings, spans))
    n_spans = sum(len(sp) for sp in spans)
    log.info("entity boundaries inside a piece: %d of %d spans (these cannot be reproduced exactly)", misses, n_spans)
    feats = training_features(encodings, spans, tag2id, cfg.model.max_length, cfg.model.stride, ids)
    log.info("entities: %d articles → %d windows, %d pieces", len(train), len(feats), sum(len(f["input_ids"]) for f in feats))

    model = AutoModelForTokenClassification.from_pretrained(
        encoder_path, num_labels=len(tags), id2label=dict(enumerate(tags)), label2id=tag2id)
    if cfg.training.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    best_dir = out_dir / NER_DIR

    def evaluate(m) -> float:
        tagger = make_tagger(m, tokenizer, tags, cfg)
        pred = [Article(a.id, a.text, ents, [], a.meta) for a, ents in zip(dev, tagger.tag([a.text for a in dev]))]
        return score_articles(dev, pred, schema)["entities"]["micro"]["f1"]

    def save_best(m) -> None:
        with atomic_dir(best_dir) as tmp:
            m.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            settings = {"max_length": cfg.model.max_length, "stride": cfg.model.stride, "normalize": cfg.model.normalize, "split_clitics": True}
            (tmp / NER_SETTINGS).write_text(json.dumps(settings, indent=1), encoding="utf-8")

    from functools import partial

    return fit(model, feats, partial(collate_tokens, pad_id=ids.pad), cfg.training, out_dir, evaluate, save_best,
               stage="entities", accelerator=accelerator)
