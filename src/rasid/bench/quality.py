"""Quality on ANERCorp (≈ CAMeL split): rasid's entity training vs the run_ner.py baseline.

rasid trains through its own `rasid train` code path (`rasid.runner.train_run`: character spans →
clitic-aware pieces, windows, length-grouped batches; decoding back to spans); the baseline is
`hf_baseline` on the same encoder folder, epochs and hyper-parameters. Both are scored by
`score_articles` (seqeval IOB2 strict over whitespace words) on the same test articles.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from rasid.articles import Article
from rasid.bench import hf_baseline
from rasid.bench.config import BenchConfig
from rasid.bench.measure import PeakRSS
from rasid.config import DataConfig, ModelConfig, RelationConfig, RunConfig, TrainingConfig
from rasid.corpora.readers import PROJECT_ROOT
from rasid.evaluation import score_articles
from rasid.schema import Schema, load_schema

log = logging.getLogger(__name__)

__all__ = ["ANERCORP_SCHEMA", "anercorp_schema", "rasid_run_config", "train_rasid", "BaselineRun", "train_hf_baseline",
           "entity_scores", "compare_quality"]

ANERCORP_SCHEMA = PROJECT_ROOT / "configs" / "schemas" / "anercorp.yaml"


def anercorp_schema() -> Schema:
    return load_schema(ANERCORP_SCHEMA)


def rasid_run_config(cfg: BenchConfig, files: dict[str, Path]) -> RunConfig:
    t = cfg.training
    return RunConfig(
        data=DataConfig(train=str(files["train"]), dev=str(files["dev"]), test=None, schema=str(ANERCORP_SCHEMA)),
        model=ModelConfig(encoder=t.encoder, max_length=t.max_length, stride=t.stride, normalize=True),
        training=TrainingConfig(epochs=t.epochs, lr=t.lr, head_lr=t.head_lr, batch_size=t.batch_size, weight_decay=t.weight_decay,
                                warmup_ratio=t.warmup_ratio, grad_clip=t.grad_clip, seed=t.seed,
                                patience=t.epochs,  # no early stop: both run every epoch and keep the best dev epoch
                                freeze_word_embeddings=t.freeze_word_embeddings,
                                checkpoint_every=10**9),  # resumability only; one checkpoint per epoch is enough here
        relations=RelationConfig(enabled=False),  # ANERCorp has no relations
    )


def train_rasid(cfg: BenchConfig, files: dict[str, Path], run_dir: Path) -> dict:
    """`rasid train` on the bench subset; returns its metrics, the encoder folder and the peak RSS."""
    import json

    from rasid.runner import train_run

    run_cfg = rasid_run_config(cfg, files)
    with PeakRSS() as rss:
        metrics = train_run(run_cfg, run_dir)
    (run_dir / "checkpoint-entities.pt").unlink(missing_ok=True)  # resumability only; 100s of MB
    encoder = json.loads((run_dir / "encoder.json").read_text(encoding="utf-8"))
    ent = metrics["entities"]
    return {
        "encoder": encoder["name"], "encoder_path": encoder["path"], "encoder_source": (encoder.get("origin") or {}).get("source"),
        "best_dev_f1": ent["best_dev_f1"], "best_epoch": ent["best_epoch"], "history": ent["history"],
        "train_seconds": ent["train_seconds"], "tokens_per_second": ent["tokens_per_second"],
        "peak_rss_mb": round(rss.peak_mb, 1), "peak_rss_above_start_mb": round(rss.delta_mb, 1),
    }


class BaselineRun:
    """The trained baseline: model, tokenizer and what training measured."""

    def __init__(self, model, tokenizer, result: hf_baseline.BaselineResult, id2tag: dict[int, str], pad_id: int, max_length: int,
                 examples: list[dict], peak: PeakRSS, truncated: int):
        self.model, self.tokenizer, self.result, self.id2tag = model, tokenizer, result, id2tag
        self.pad_id, self.max_length, self.examples, self.peak, self.truncated = pad_id, max_length, examples, peak, truncated

    def predict(self, articles: list[Article]) -> tuple[list[Article], list[list[str]]]:
        return hf_baseline.predict_articles(self.model, self.tokenizer, articles, self.id2tag, self.max_length, self.pad_id)

    def summary(self) -> dict:
        r = self.result
        return {"best_dev_f1": round(r.best_score, 4), "best_epoch": r.best_epoch, "history": r.history, "train_seconds": round(r.seconds, 1),
                "tokens_per_second": round(r.tokens_per_second, 1), "steps": r.steps, "tokens": r.tokens, "padded_tokens": r.padded_tokens,
                "examples": len(self.examples), "truncated_words": self.truncated,
                "peak_rss_mb": round(self.peak.peak_mb, 1), "peak_rss_above_start_mb": round(self.peak.delta_mb, 1)}


def load_classifier(encoder_path: str | Path, tags: list[str], freeze_word_embeddings: bool, seed: int):
    from transformers import AutoModelForTokenClassification

    torch.manual_seed(seed)
    model = AutoModelForTokenClassification.from_pretrained(
        str(encoder_path), num_labels=len(tags), id2label=dict(enumerate(tags)), label2id={t: i for i, t in enumerate(tags)})
    if freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    return model


def train_hf_baseline(cfg: BenchConfig, train: list[Article], dev: list[Article], encoder_path: str | Path, schema: Schema) -> BaselineRun:
    from transformers import AutoTokenizer

    from rasid.ner.tagger import special_ids

    t = cfg.training
    tags = schema.bio_tags
    tag2id = {tag: i for i, tag in enumerate(tags)}
    id2tag = dict(enumerate(tags))
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_path))
    pad_id = special_ids(tokenizer).pad
    sentences = hf_baseline.split_sentences(train)
    examples = hf_baseline.encode_sentences(tokenizer, sentences, [a.text for a in train], tag2id, t.max_length)
    truncated = hf_baseline.truncated_words(examples, [len(s.words) for s in sentences])
    log.info("run_ner baseline: %d sentences, %d pieces, %d words cut by truncation", len(examples),
             sum(len(e["input_ids"]) for e in examples), truncated)
    model = load_classifier(encoder_path, tags, t.freeze_word_embeddings, t.seed)

    def evaluate(m) -> float:
        pred, _ = hf_baseline.predict_articles(m, tokenizer, dev, id2tag, t.max_length, pad_id)
        return score_articles(dev, pred, schema)["entities"]["micro"]["f1"]

    with PeakRSS() as rss:
        result = hf_baseline.train_baseline(model, examples, pad_id, epochs=t.epochs, batch_size=t.batch_size, lr=t.lr, head_lr=t.head_lr,
                                            weight_decay=t.weight_decay, warmup_ratio=t.warmup_ratio, grad_clip=t.grad_clip,
                                            seed=t.seed, evaluate=evaluate)
    return BaselineRun(model, tokenizer, result, id2tag, pad_id, t.max_length, examples, rss, truncated)


def entity_scores(gold: list[Article], pred: list[Article], schema: Schema) -> dict:
    report = score_articles(gold, pred, schema)
    return {"micro": report["entities"]["micro"], "per_label": report["entities"]["per_label"],
            "exact_spans_micro": report["entities_exact"]["micro"], "scheme": report["entities"]["scheme"]}


def raw_tag_f1(gold: list[Article], raw_tags: list[list[str]]) -> float:
    """seqeval strict on the baseline's raw word tags, as run_ner's own compute_metrics would see them."""
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    gold_tags = [s.tags for s in hf_baseline.split_sentences(gold)]
    return round(float(f1_score(gold_tags, raw_tags, mode="strict", scheme=IOB2, zero_division=0)), 4)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def compare_quality(gold: list[Article], rasid_pred: list[Article], baseline_pred: list[Article], baseline_raw_tags: list[list[str]],
                    schema: Schema) -> dict:
    rasid = entity_scores(gold, rasid_pred, schema)
    base = entity_scores(gold, baseline_pred, schema)
    per_label = {lab: {"rasid_f1": rasid["per_label"][lab]["f1"], "baseline_f1": base["per_label"][lab]["f1"],
                       "support": rasid["per_label"][lab]["support"]} for lab in schema.entity_labels}
    return {
        "rasid": rasid,
        "baseline": {**base, "raw_tags_strict_f1": raw_tag_f1(gold, baseline_raw_tags)},
        "per_label": per_label,
        "f1_ratio": _ratio(rasid["micro"]["f1"], base["micro"]["f1"]),
        "f1_difference_points": round(100 * (rasid["micro"]["f1"] - base["micro"]["f1"]), 2),
        "goal": "ratio ≥ 1.00",
    }
