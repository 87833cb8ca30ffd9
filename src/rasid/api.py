"""The Python API: `rasid.load(bundle)` → `extract(text)` / `extract_batch(texts)` → article records.

    import rasid
    model = rasid.load("bundles/default")          # ONNX Runtime; backend="torch" for PyTorch
    record = model.extract("سيطرت قوات النظام على حمص")
    record["entities"][0]  # {"id": "e1", "start": 11, "end": 14, "label": "LOC", "text": "حمص", "score": 0.97}

Records are contract.md §1 articles: offsets index the text exactly as given.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rasid.articles import Article
from rasid.errors import RasidDataError

__all__ = ["Extractor", "load"]


def _as_article(item: Any, index: int) -> Article:
    if isinstance(item, str):
        return Article(id=str(index), text=item)
    if isinstance(item, dict):
        text = item.get("text")
        if not isinstance(text, str):
            raise RasidDataError("needs a 'text' string", record=f"item {index}")
        meta = item.get("meta")
        if meta is not None and not isinstance(meta, dict):
            raise RasidDataError("'meta' must be an object", record=f"item {index}")
        art_id = item.get("id")
        return Article(id=str(index) if art_id is None else str(art_id), text=text, meta=meta)
    raise RasidDataError(f"expected a string or an object with 'text', got {type(item).__name__}", record=f"item {index}")


class Extractor:
    """Entities and relations from raw text with a loaded bundle (or any Predictor)."""

    def __init__(self, predictor, batch_size: int = 32):
        self.predictor = predictor
        self.batch_size = batch_size

    @property
    def schema(self):
        return self.predictor.schema

    @property
    def model_version(self) -> str:
        return getattr(self.predictor, "model_version", "rasid")

    def extract(self, text: str, id: str | None = None, meta: dict | None = None) -> dict:
        """One article record: {id, text, entities, relations[, meta]}; `id` defaults to "0"."""
        if not isinstance(text, str):
            raise RasidDataError(f"text must be a string, got {type(text).__name__}")
        return self.predictor.predict([Article(id="0" if id is None else str(id), text=text, meta=meta)])[0].to_dict()

    def extract_batch(self, texts: Iterable[str | dict]) -> list[dict]:
        """Records in input order. Items are strings (ids "0", "1", …) or {"text", "id"?, "meta"?}."""
        articles = [_as_article(t, i) for i, t in enumerate(texts)]
        out: list[dict] = []
        for i in range(0, len(articles), self.batch_size):
            out += [a.to_dict() for a in self.predictor.predict(articles[i : i + self.batch_size])]
        return out


def load(bundle: str | Path, backend: str = "auto", variant: str = "fp32", threads: int | None = None) -> Extractor:
    """Load a bundle (checksums verified; ONNX Runtime unless backend="torch") for extraction."""
    from rasid.bundle import load_bundle

    return Extractor(load_bundle(bundle, backend=backend, variant=variant, threads=threads))
