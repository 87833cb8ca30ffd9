"""Loading an exported model bundle (contract.md §4) and predicting with it.

A bundle is a folder: manifest.json (schema, label maps, window settings, special token ids,
versions, metrics, SHA-256 of every other file), tokenizer.json, safetensors weights (ner/,
relations/), ONNX graphs (onnx/, fp32 and int8) and MODEL_CARD.md. `rasid.export` writes it.

The ONNX path needs onnxruntime, tokenizers and numpy only: nothing here imports torch or
transformers unless `backend="torch"` is asked for, so a slim server image can serve a bundle.
Every file is checked against its checksum before anything is loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from rasid.articles import Article
from rasid.errors import RasidConfigError
from rasid.schema import Schema

log = logging.getLogger(__name__)

__all__ = [
    "BUNDLE_FORMAT", "FORMAT_VERSION", "MANIFEST", "BundlePredictor", "load_bundle", "read_manifest", "verify_bundle",
    "sha256_file", "bundle_files",
]

BUNDLE_FORMAT = "rasid-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BACKENDS = ("auto", "onnx", "torch")
VARIANTS = ("fp32", "int8")
THREADS_ENV = "RASID_ORT_THREADS"
WINDOW_BATCH_ENV = "RASID_WINDOW_BATCH"  # windows per encoder call when predicting from a bundle


def _env_int(name: str, default: int, *, minimum: int) -> int:
    """A whole-number setting from the environment; a bad value is one clear error, not a traceback."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RasidConfigError(f"${name}={raw!r}: expected a whole number ≥ {minimum}") from None
    if value < minimum:
        raise RasidConfigError(f"${name}={raw!r}: expected a whole number ≥ {minimum}")
    return value


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def bundle_files(folder: Path) -> list[str]:
    """Every file under `folder` except the manifest, as sorted POSIX paths relative to it."""
    out = []
    for path in folder.rglob("*"):
        if path.is_file() and path.name != MANIFEST:
            out.append(path.relative_to(folder).as_posix())
    return sorted(out)


def read_manifest(path: Path) -> dict:
    path = Path(path)
    file = path / MANIFEST
    if not path.is_dir():
        raise RasidConfigError(f"{path}: no such bundle folder")
    if not file.is_file():
        raise RasidConfigError(f"{file}: missing; {path} is not a complete bundle (export it again with `rasid export`)")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RasidConfigError(f"{file}: not valid JSON ({exc}); the bundle is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise RasidConfigError(f"{file}: not a rasid bundle manifest (format {manifest.get('format') if isinstance(manifest, dict) else None!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise RasidConfigError(f"{file}: bundle format version {version!r}; this rasid reads up to {FORMAT_VERSION} (upgrade rasid)")
    for key in ("files", "schema", "entities"):
        if key not in manifest:
            raise RasidConfigError(f"{file}: manifest has no '{key}'")
    return manifest


def _inside(folder: Path, rel: str) -> Path:
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise RasidConfigError(f"{folder / MANIFEST}: file entry {rel!r} points outside the bundle")
    return folder / Path(*p.parts)


def verify_bundle(path: Path, manifest: dict) -> None:
    """Every listed file exists with its recorded SHA-256; the files the manifest refers to are listed."""
    path = Path(path)
    files = manifest["files"]
    for rel, digest in files.items():
        file = _inside(path, rel)
        if not file.is_file():
            raise RasidConfigError(f"{file}: missing from the bundle (partial copy?); export it again")
        actual = sha256_file(file)
        if actual != digest:
            raise RasidConfigError(f"{file}: checksum mismatch (SHA-256 {actual[:12]}…, manifest says {str(digest)[:12]}…); "
                                   "the file changed after export, refusing to load")
    for rel in _referenced(manifest):
        if rel not in files:
            raise RasidConfigError(f"{path / MANIFEST}: refers to {rel} but lists no checksum for it")
    extra = sorted(set(bundle_files(path)) - set(files))
    if extra:
        log.warning("%s: files not in the manifest are ignored: %s", path, ", ".join(extra[:5]))


def _referenced(manifest: dict) -> list[str]:
    out = []
    for part in ("entities", "relations"):
        section = manifest.get(part) or {}
        out += [v for k, v in section.items() if k in ("tokenizer", "config", "weights", "head", "labels_file")]
        out += list((section.get("onnx") or {}).values())
    return out


def _ort_session(path: Path, threads: int | None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    threads = threads if threads is not None else _env_int(THREADS_ENV, 0, minimum=0)
    opts.intra_op_num_threads = threads  # 0: one per core
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def onnx_logits_fn(session) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def run(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return session.run(["logits"], {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)})[0]

    return run


def onnx_pair_logits_fn(session, n_out: int) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    def run(input_ids: np.ndarray, attention_mask: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        if len(pairs) == 0:
            return np.zeros((0, n_out), dtype=np.float32)
        feeds = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64), "pairs": pairs.astype(np.int64)}
        return session.run(["pair_logits"], feeds)[0]

    return run


def _torch_logits_fn(model):
    import torch

    @torch.inference_mode()
    def run(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask)).logits.float().numpy()

    return run


def _choose_backend(backend: str, manifest: dict) -> str:
    if backend not in BACKENDS:
        raise RasidConfigError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if backend != "auto":
        return backend
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        log.info("onnxruntime is not installed: serving the bundle with PyTorch")
        return "torch"
    return "onnx"


class BundlePredictor:
    """A bundle ready to predict: `schema`, `manifest`, `predict(articles) -> articles`.

    The same `EntityTagger` and `predict_relations` as a run folder's `TorchPredictor`, fed by
    ONNX Runtime sessions (or the bundle's safetensors through PyTorch), so both give the same spans.
    Thread-safe: ONNX Runtime sessions and the tokenizer may be shared by concurrent requests.
    """

    def __init__(self, path: Path, manifest: dict, backend: str, variant: str, threads: int | None = None):
        from tokenizers import Tokenizer

        from rasid.ner.tagger import EntityTagger, SpecialIds

        self.path, self.manifest, self.backend, self.variant = path, manifest, backend, variant
        # Windows one at a time: on the 2-core CPU that beat batches of 4 and 8 for every backend (no
        # padding to the longest window; int8 3.3 vs 2.2 articles/s). Larger machines may batch.
        self.window_batch = _env_int(WINDOW_BATCH_ENV, 1, minimum=1)
        self.schema = Schema.from_dict(manifest["schema"])
        ent = manifest["entities"]
        tags = list(ent["tags"])
        if tags != self.schema.bio_tags:
            raise RasidConfigError(f"{path / MANIFEST}: entity tags {tags} disagree with the bundle's schema {self.schema.bio_tags}")
        self.tokenizer = Tokenizer.from_file(str(path / ent["tokenizer"]))
        if backend == "onnx":
            logits_fn = onnx_logits_fn(_ort_session(path / ent["onnx"][variant], threads))
        else:
            logits_fn = self._torch_entities(ent, len(tags))
        self.tagger = EntityTagger(self.tokenizer, dict(enumerate(tags)), logits_fn, int(ent["max_length"]), int(ent["stride"]),
                                   SpecialIds(**ent["special_ids"]), split_clitics=bool(ent.get("split_clitics", True)),
                                   batch_size=self.window_batch)
        self.pair_logits_fn = None
        rel = manifest.get("relations")
        if rel:
            from rasid.config import RelationConfig

            if list(rel["labels"]) != self.schema.relation_labels:
                raise RasidConfigError(f"{path / MANIFEST}: relation labels {rel['labels']} disagree with the schema {self.schema.relation_labels}")
            known = set(RelationConfig.__dataclass_fields__)
            self.rel_cfg = RelationConfig(**{k: v for k, v in rel["settings"].items() if k in known})
            self.rel_tokenizer = Tokenizer.from_file(str(path / rel["tokenizer"])) if rel["tokenizer"] != ent["tokenizer"] else self.tokenizer
            self.rel_pad = int(rel["pad_id"])
            self.normalize = bool(rel.get("normalize", True))
            if backend == "onnx":
                self.pair_logits_fn = onnx_pair_logits_fn(_ort_session(path / rel["onnx"][variant], threads), len(rel["labels"]) + 1)
            else:
                self.pair_logits_fn = self._torch_relations(rel)

    def _torch_entities(self, ent: dict, n_tags: int):
        from transformers import AutoModelForTokenClassification

        model = AutoModelForTokenClassification.from_pretrained(self.path / Path(ent["config"]).parent).eval()
        if model.config.num_labels != n_tags:
            raise RasidConfigError(f"{self.path / ent['config']}: {model.config.num_labels} labels, the manifest has {n_tags} tags")
        return _torch_logits_fn(model)

    def _torch_relations(self, rel: dict):
        from rasid.relations.model import RelationClassifier
        from rasid.relations.pipeline import torch_pair_logits

        return torch_pair_logits(RelationClassifier.load(self.path / Path(rel["config"]).parent))

    @property
    def model_version(self) -> str:
        return str(self.manifest.get("model_version", "rasid"))

    def predict(self, articles: list[Article]) -> list[Article]:
        from rasid.relations.pipeline import predict_relations

        entities = self.tagger.tag([a.text for a in articles])
        out = [Article(a.id, a.text, e, [], a.meta) for a, e in zip(articles, entities, strict=True)]
        if self.pair_logits_fn is not None:
            rels = predict_relations(self.pair_logits_fn, out, self.schema, self.rel_tokenizer, self.rel_cfg, self.normalize, self.rel_pad,
                                     batch_size=self.window_batch)
            for art, r in zip(out, rels, strict=True):
                art.relations = r
        return out


def load_bundle(path: str | Path, backend: str = "auto", variant: str = "fp32", *, verify: bool = True,
                threads: int | None = None) -> BundlePredictor:
    """Load an exported bundle: checksums first, then ONNX Runtime (default) or PyTorch.

    `variant` picks the ONNX graphs: "fp32" (parity with PyTorch checked at export) or "int8"
    (dynamically quantised; the manifest records its F1 against fp32). `threads`: ONNX Runtime
    intra-op threads (default: $RASID_ORT_THREADS, else one per core).
    """
    path = Path(path)
    manifest = read_manifest(path)
    if variant not in VARIANTS:
        raise RasidConfigError(f"unknown bundle variant {variant!r} (choose from {', '.join(VARIANTS)})")
    if verify:
        verify_bundle(path, manifest)
    chosen = _choose_backend(backend, manifest)
    if chosen == "torch" and variant != "fp32":
        raise RasidConfigError("the int8 variant exists as ONNX only; use backend 'onnx' (or the fp32 variant)")
    int8 = (manifest.get("parity") or {}).get("int8") or {}
    if variant == "int8" and int8.get("within_tolerance") is False:
        log.warning("%s: the int8 graphs lost %.1f F1 points against fp32 at export; prefer fp32 for this model",
                    path, 100 * float(int8.get("f1_drop", 0.0)))
    predictor = BundlePredictor(path, manifest, chosen, variant, threads=threads)
    log.info("loaded bundle %s (%s, %s)", path, chosen, variant)
    return predictor


def describe(predictor: Any) -> dict:
    """What /v1/schema and the Label Studio /setup answer: labels, relations, model version."""
    schema = predictor.schema
    manifest = getattr(predictor, "manifest", {}) or {}
    return {
        "model_version": getattr(predictor, "model_version", "rasid"),
        "backend": getattr(predictor, "backend", None),
        "variant": getattr(predictor, "variant", None),
        "encoder": (manifest.get("encoder") or {}).get("name"),
        "schema": schema.to_dict(),
        "entity_labels": schema.entity_labels,
        "relation_labels": schema.relation_labels,
        "bio_tags": schema.bio_tags,
    }
