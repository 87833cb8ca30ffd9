"""Loading a trained model (a run folder; bundles via rasid.bundle) and predicting articles."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from tqdm.auto import tqdm

from rasid.articles import Article
from rasid.config import load_config
from rasid.data import iter_articles
from rasid.errors import RasidConfigError
from rasid.io import atomic_write
from rasid.schema import Schema, load_schema

log = logging.getLogger(__name__)

__all__ = ["Predictor", "TorchPredictor", "load_predictor", "stream_predictions"]


class Predictor:
    """Anything with a schema and `predict(articles) -> articles` (entities and relations filled)."""

    schema: Schema

    def predict(self, articles: list[Article]) -> list[Article]:  # pragma: no cover - interface
        raise NotImplementedError


class TorchPredictor(Predictor):
    """A run folder: ner/ (and relations/ when trained), config.yaml, schema.yaml."""

    def __init__(self, run_dir: Path):
        import torch  # noqa: F401  (the run folder format is PyTorch's)
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        from rasid.ner.train import NER_DIR, make_tagger
        from rasid.relations.train import RELATIONS_DIR

        self.run_dir = run_dir
        self.cfg = load_config(run_dir / "config.yaml")
        self.schema = load_schema(run_dir / "schema.yaml")
        ner_dir = run_dir / NER_DIR
        if not (ner_dir / "config.json").exists():
            raise RasidConfigError(f"{run_dir}: no trained entity model in {ner_dir} (did training finish an epoch?)")
        self.tokenizer = AutoTokenizer.from_pretrained(ner_dir)
        self.ner_model = AutoModelForTokenClassification.from_pretrained(ner_dir).eval()
        tags = [self.ner_model.config.id2label[i] for i in range(self.ner_model.config.num_labels)]
        if tags != self.schema.bio_tags:
            raise RasidConfigError(f"{run_dir}: the entity model's labels {tags} disagree with its schema {self.schema.bio_tags}")
        self.tagger = make_tagger(self.ner_model, self.tokenizer, tags, self.cfg)
        self.rel_model = None
        rel_dir = run_dir / RELATIONS_DIR
        if (rel_dir / "config.json").exists():
            from rasid.relations.model import RelationClassifier

            self.rel_model = RelationClassifier.load(rel_dir)
            if self.rel_model.threshold is not None:  # chosen on dev at training time
                self.cfg.relations.threshold = self.rel_model.threshold
            if self.rel_model.labels != self.schema.relation_labels:
                raise RasidConfigError(f"{run_dir}: the relation model's labels {self.rel_model.labels} disagree with its schema")
            self.rel_tokenizer = AutoTokenizer.from_pretrained(rel_dir)

    def predict(self, articles: list[Article]) -> list[Article]:
        ents = self.tagger.tag([a.text for a in articles])
        return self.relate([Article(a.id, a.text, e, [], a.meta) for a, e in zip(articles, ents)])

    def relate(self, articles: list[Article]) -> list[Article]:
        """Fill relations between the entities the articles already have (gold or predicted)."""
        from rasid.relations.pipeline import predict_relations, torch_pair_logits

        out = [Article(a.id, a.text, list(a.entities), [], a.meta) for a in articles]
        if self.rel_model is not None:
            rels = predict_relations(torch_pair_logits(self.rel_model), out, self.schema, self.rel_tokenizer, self.cfg.relations,
                                     self.cfg.model.normalize, self.rel_tokenizer.pad_token_id or 0)
            for art, r in zip(out, rels):
                art.relations = r
        return out


def load_predictor(path: Path, backend: str = "auto") -> Predictor:
    """A run folder (PyTorch) or an exported bundle (ONNX Runtime by default)."""
    path = Path(path)
    if not path.exists():
        raise RasidConfigError(f"{path}: no such model folder")
    if (path / "manifest.json").exists():
        from rasid.bundle import load_bundle

        return load_bundle(path, backend=backend)
    if (path / "config.yaml").exists():
        return TorchPredictor(path)
    raise RasidConfigError(f"{path}: neither a run folder (config.yaml) nor a bundle (manifest.json)")


def _batches(items: Iterable[Article], size: int) -> Iterator[list[Article]]:
    batch = []
    for it in items:
        batch.append(it)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def stream_predictions(predictor: Predictor, input_path: Path, output: Path, batch_size: int = 8) -> int:
    """Predict a JSONL (or folder of .txt) in bounded memory; the output appears whole or not at all."""
    n = 0
    with atomic_write(output) as handle, tqdm(desc="articles", unit="art") as bar:
        for batch in _batches(iter_articles(input_path, predictor.schema), batch_size):
            clean = [Article(a.id, a.text, meta=a.meta) for a in batch]
            for art in predictor.predict(clean):
                handle.write(json.dumps(art.to_dict(), ensure_ascii=False) + "\n")
                n += 1
            bar.update(len(batch))
    log.info("wrote %d predicted articles to %s", n, output)
    return n
