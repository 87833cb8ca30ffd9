"""What `rasid train` does, start to finish (`evaluate` and `predict` live in scoring.py)."""

from __future__ import annotations

import logging
import platform
import time
from pathlib import Path

import torch

from rasid.config import RunConfig
from rasid.data import load_articles
from rasid.errors import RasidDataError
from rasid.evaluation import score_articles
from rasid.io import atomic_write
from rasid.schema import load_schema
from rasid.scoring import check_articles as _check
from rasid.scoring import evaluate_model
from rasid.scoring import write_json as _write_json
from rasid.training import FitResult, make_accelerator, set_seed

log = logging.getLogger(__name__)

__all__ = ["train_run"]


def _versions() -> dict:
    import tokenizers
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__}


def train_run(cfg: RunConfig, out_dir: Path) -> dict:
    """Train entities, then relations, then score the best models on the test split."""
    from rasid.encoders import materialize, resolve_encoder
    from rasid.ner.train import NER_DIR, train_entities
    from rasid.relations.train import train_relations

    started = time.perf_counter()
    accelerator = make_accelerator()
    if cfg.training.num_threads:
        torch.set_num_threads(cfg.training.num_threads)
    set_seed(cfg.training.seed)
    schema = load_schema(cfg.data.schema)
    train = load_articles(cfg.data.train, schema, limit=cfg.data.max_train_articles)
    # Extra sources (silver NER) teach entities only: their unannotated pairs are not negatives.
    relation_train = list(train)
    for extra in cfg.data.extra_train:
        train += load_articles(extra, schema)
    dev = load_articles(cfg.data.dev, schema)
    for name, arts in (("train", train), ("dev", dev)):
        _check(arts, schema, getattr(cfg.data, name))
    if not train:
        raise RasidDataError("no training articles", path=cfg.data.train)

    spec = resolve_encoder(cfg.model.encoder)
    encoder_path = materialize(spec, texts=[a.text for a in train])
    log.info("encoder: %s (%s)", spec.name, encoder_path)
    print(f"rasid: encoder {spec.name} from {spec.origin.get('source', encoder_path)}")

    out_dir.mkdir(parents=True, exist_ok=True)
    if accelerator.is_main_process:
        cfg.save(out_dir / "config.yaml")
        with atomic_write(out_dir / "schema.yaml") as handle:
            import yaml

            yaml.safe_dump(schema.to_dict(), handle, allow_unicode=True, sort_keys=False)
        _write_json(out_dir / "encoder.json", {"name": spec.name, "path": str(encoder_path), "origin": spec.origin, "from_scratch": spec.from_scratch})

    ner_fit: FitResult = train_entities(cfg, schema, train, dev, encoder_path, out_dir, accelerator)
    rel_fit: FitResult | None = None
    if cfg.relations.enabled and any(a.relations for a in relation_train):
        accelerator.wait_for_everyone()  # the entity weights are written by the main process
        rel_encoder = out_dir / NER_DIR if cfg.relations.init_from_entities else encoder_path
        rel_fit = train_relations(cfg, schema, relation_train, dev, rel_encoder, out_dir, accelerator)
    elif cfg.relations.enabled:
        log.info("no relations in the training data: the run extracts entities only")

    metrics = {
        "encoder": spec.name,
        "entities": {"best_dev_f1": ner_fit.best_score, "best_epoch": ner_fit.best_epoch, "history": ner_fit.history,
                     "train_seconds": round(ner_fit.seconds, 1), "tokens_per_second": round(ner_fit.tokens_per_second, 1)},
        "relations": None if rel_fit is None else {"best_dev_f1": rel_fit.best_score, "best_epoch": rel_fit.best_epoch, "history": rel_fit.history,
                                                  "train_seconds": round(rel_fit.seconds, 1)},
        "train_articles": len(train), "dev_articles": len(dev), "versions": _versions(),
    }
    if accelerator.is_main_process and cfg.data.test:
        report = evaluate_model(out_dir, Path(cfg.data.test), out_dir / "report.json", plots=True)
        metrics["test"] = {k: report[k]["micro"] for k in ("entities", "entities_exact", "relations", "relation_facts")}
        if rel_fit is not None:
            from rasid.predictor import TorchPredictor

            # The relation classifier alone, on gold entities: separates its errors from the tagger's.
            gold = load_articles(cfg.data.test, schema)
            given = score_articles(gold, TorchPredictor(out_dir).relate(gold), schema, where=cfg.data.test)
            metrics["test"]["relations_given_gold_entities"] = given["relations"]["micro"]
            metrics["test"]["relation_per_label_given_gold_entities"] = given["relations"]["per_label"]
    metrics["total_seconds"] = round(time.perf_counter() - started, 1)
    if accelerator.is_main_process:
        _write_json(out_dir / "metrics.json", metrics)
        summary = f"rasid: model in {out_dir}; dev entity F1 {ner_fit.best_score:.3f}"
        if "test" in metrics:
            summary += f"; test entity F1 {metrics['test']['entities']['f1']:.3f}, relation F1 {metrics['test']['relations']['f1']:.3f}"
        print(summary + f" ({metrics['total_seconds'] / 60:.1f} min)")
    return metrics
