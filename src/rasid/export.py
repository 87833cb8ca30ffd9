"""`rasid export RUN OUT`: a run folder → a self-contained bundle (contract.md §4).

The bundle is built in a hidden folder beside OUT and renamed into place at the very end, so a
crash never leaves a folder that looks complete (and a folder without manifest.json is refused
by the loader anyway). With `check=True` the export also proves the ONNX graphs right on the
evaluation set before renaming: fp32 logits within 1e-4 of PyTorch and identical spans and
relations (else the export fails), int8 F1 within 1 point of fp32 (else a warning; recorded).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import platform
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from rasid.articles import Article
from rasid.bundle import BUNDLE_FORMAT, FORMAT_VERSION, MANIFEST, bundle_files, load_bundle, sha256_file
from rasid.errors import RasidConfigError, RasidDataError
from rasid.schema import Schema

log = logging.getLogger(__name__)

__all__ = ["export_bundle", "check_parity", "LOGIT_TOLERANCE", "INT8_F1_TOLERANCE"]

LOGIT_TOLERANCE = 1e-4
INT8_F1_TOLERANCE = 0.01  # one F1 point
TOKENIZER_FILE = "tokenizer.json"
REL_FILES = ("config.json", "model.safetensors", "relation_head.safetensors", "relation_labels.json")
VERSION_PACKAGES = ("rasid", "torch", "transformers", "tokenizers", "safetensors", "onnx", "onnxruntime", "numpy")
# Used for the logits check when there is no evaluation set at all.
SAMPLE_TEXTS = [
    "سيطرت قوات النظام على مدينة حمص بعد معارك عنيفة .",
    "قال المتحدث باسم الأمم المتحدة إن المساعدات وصلت إلى حلب ودرعا .",
    "",
    "Reuters reported clashes near the border.",
]


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for name in VERSION_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _resolve(path: str | Path | None) -> Path | None:
    """A data path from a run config: as given (relative to the working directory), else relative
    to the project root, where `rasid train` is normally run."""
    if not path:
        return None
    p = Path(path)
    if p.exists() or p.is_absolute():
        return p
    for folder in Path(__file__).resolve().parents:
        if (folder / "pyproject.toml").is_file() and (folder / p).exists():
            return folder / p
    return p


def _eval_articles(data: Path | None, schema: Schema) -> list[Article]:
    """Gold articles, validated against the bundle's schema (a mismatch is a clear error)."""
    from rasid.data import load_articles
    from rasid.validate import validate_articles

    arts = load_articles(data, schema)
    problems = validate_articles(((f"article #{i + 1}", a) for i, a in enumerate(arts)), schema, str(data))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RasidDataError(f"{problems[0]}{more}; the evaluation data does not fit the model's schema "
                             f"(entities {schema.entity_labels}, relations {schema.relation_labels})")
    return arts


# --- parity -------------------------------------------------------------------------------

class _Recorder:
    """Wraps a logits function and keeps (inputs, outputs) of every call, in order."""

    def __init__(self, fn: Callable):
        self.fn, self.calls = fn, []

    def __call__(self, *inputs):
        out = np.asarray(self.fn(*inputs), dtype=np.float32)
        self.calls.append(([np.array(x) for x in inputs], out))
        return out


class _Comparer:
    """Wraps a second backend's logits function and compares each call with the recorded one."""

    def __init__(self, fn: Callable, reference: _Recorder, what: str):
        self.fn, self.reference, self.what = fn, reference, what
        self.index, self.max_diff, self.values = 0, 0.0, 0

    def __call__(self, *inputs):
        out = np.asarray(self.fn(*inputs), dtype=np.float32)
        if self.index >= len(self.reference.calls):
            raise RasidConfigError(f"{self.what}: the exported model ran more batches than PyTorch did")
        ref_in, ref_out = self.reference.calls[self.index]
        self.index += 1
        if any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(inputs, ref_in, strict=True)):
            raise RasidConfigError(f"{self.what}: the bundle's tokenizer or settings give other model inputs than the run's")
        if out.shape != ref_out.shape:
            raise RasidConfigError(f"{self.what}: output shape {out.shape}, PyTorch gave {ref_out.shape}")
        if out.size:
            self.max_diff = max(self.max_diff, float(np.abs(out - ref_out).max()))
        self.values += out.size
        return out


def _spans(arts: list[Article]) -> list[list[tuple]]:
    return [sorted((e.start, e.end, e.label) for e in a.entities) for a in arts]


def _relations(arts: list[Article]) -> list[list[tuple]]:
    out = []
    for a in arts:
        by_id = {e.id: (e.start, e.end, e.label) for e in a.entities}
        out.append(sorted((by_id[r.head], by_id[r.tail], r.label) for r in a.relations))
    return out


def _f1(gold: list[Article], pred: list[Article], schema: Schema, has_gold: bool) -> dict | None:
    if not has_gold:
        return None
    from rasid.evaluation import score_articles

    report = score_articles(gold, pred, schema)
    return {"entities": report["entities"]["micro"]["f1"], "entities_exact": report["entities_exact"]["micro"]["f1"],
            "relations": report["relations"]["micro"]["f1"]}


def _timed(fn: Callable, *args) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args)
    return out, round(time.perf_counter() - t, 3)


def check_parity(torch_pred, bundle_dir: Path, gold: list[Article], data_label: str) -> dict:
    """Compare the bundle (ONNX fp32 and int8) with the run (`TorchPredictor`) on `gold`'s texts.

    Raises RasidConfigError when fp32 logits differ by more than LOGIT_TOLERANCE or any span or
    relation differs; returns the measurements (the manifest's `parity`).
    """
    from rasid.relations.pipeline import DEFAULT_WINDOW_BATCH, predict_relations, torch_pair_logits

    schema = torch_pred.schema
    has_gold = bool(gold)
    if not gold:
        gold = [Article(f"sample-{i}", t) for i, t in enumerate(SAMPLE_TEXTS)]
    inputs = [Article(a.id, a.text, meta=a.meta) for a in gold]

    ent_rec = _Recorder(torch_pred.tagger.logits_fn)
    torch_pred.tagger.logits_fn = ent_rec
    torch_out, torch_s = _timed(torch_pred.predict, inputs)

    onnx_pred = load_bundle(bundle_dir, backend="onnx", variant="fp32", verify=False)
    # batch windows as the run does, so that every call can be compared with PyTorch's
    onnx_pred.tagger.batch_size, onnx_pred.window_batch = torch_pred.tagger.batch_size, DEFAULT_WINDOW_BATCH
    ent_cmp = _Comparer(onnx_pred.tagger.logits_fn, ent_rec, "entity logits")
    onnx_pred.tagger.logits_fn = ent_cmp
    onnx_out, onnx_s = _timed(onnx_pred.predict, inputs)

    result: dict[str, Any] = {
        "data": data_label, "articles": len(gold), "logit_tolerance": LOGIT_TOLERANCE,
        "entities": {"batches": ent_cmp.index, "max_abs_logit_diff": ent_cmp.max_diff,
                     "spans_identical": _spans(torch_out) == _spans(onnx_out)},
    }
    if torch_pred.rel_model is not None:
        # gold entities when the data has relations (more pairs to compare), else the predicted ones
        with_entities = gold if any(a.relations for a in gold) else torch_out
        rel_rec = _Recorder(torch_pair_logits(torch_pred.rel_model))
        args = (with_entities, schema, torch_pred.rel_tokenizer, torch_pred.cfg.relations, torch_pred.cfg.model.normalize,
                torch_pred.rel_tokenizer.pad_token_id or 0)
        predict_relations(rel_rec, *args)
        rel_cmp = _Comparer(onnx_pred.pair_logits_fn, rel_rec, "relation logits")
        predict_relations(rel_cmp, with_entities, schema, onnx_pred.rel_tokenizer, onnx_pred.rel_cfg,
                          onnx_pred.normalize, onnx_pred.rel_pad)
        result["relations"] = {"batches": rel_cmp.index, "pairs": sum(len(o) for _, o in rel_rec.calls),
                               "max_abs_logit_diff": rel_cmp.max_diff, "identical": _relations(torch_out) == _relations(onnx_out)}

    int8_pred = load_bundle(bundle_dir, backend="onnx", variant="int8", verify=False)
    int8_out, int8_s = _timed(int8_pred.predict, inputs)
    f1 = {"torch": _f1(gold, torch_out, schema, has_gold), "onnx_fp32": _f1(gold, onnx_out, schema, has_gold),
          "onnx_int8": _f1(gold, int8_out, schema, has_gold)}
    result["f1"] = f1
    result["seconds"] = {"torch": torch_s, "onnx_fp32": onnx_s, "onnx_int8": int8_s}
    spans_same = _spans(int8_out) == _spans(onnx_out)
    if has_gold:
        drop = max(f1["onnx_fp32"]["entities"] - f1["onnx_int8"]["entities"], f1["onnx_fp32"]["relations"] - f1["onnx_int8"]["relations"])
        result["int8"] = {"f1_drop": round(drop, 4), "tolerance": INT8_F1_TOLERANCE, "within_tolerance": drop <= INT8_F1_TOLERANCE,
                          "spans_identical_to_fp32": spans_same}
    else:
        result["int8"] = {"f1_drop": None, "within_tolerance": None, "spans_identical_to_fp32": spans_same}

    problems = []
    if ent_cmp.max_diff > LOGIT_TOLERANCE:
        problems.append(f"entity logits differ by up to {ent_cmp.max_diff:.2e}")
    if not result["entities"]["spans_identical"]:
        problems.append("predicted entity spans differ")
    rel = result.get("relations")
    if rel and rel["max_abs_logit_diff"] > LOGIT_TOLERANCE:
        problems.append(f"relation logits differ by up to {rel['max_abs_logit_diff']:.2e}")
    if rel and not rel["identical"]:
        problems.append("predicted relations differ")
    if problems:
        raise RasidConfigError(f"ONNX fp32 does not match PyTorch on {data_label} (tolerance {LOGIT_TOLERANCE}): {'; '.join(problems)}. "
                               "The bundle was not written; `--no-check` skips this check")
    if result["int8"]["within_tolerance"] is False:
        log.warning("int8 graphs lose %.1f F1 points against fp32 on %s (tolerance %.1f): the int8 variant is kept but "
                    "flagged; serve fp32 for this model", 100 * result["int8"]["f1_drop"], data_label, 100 * INT8_F1_TOLERANCE)
    log.info("parity on %s: entity logits Δ≤%.1e, spans identical; F1 %s", data_label, ent_cmp.max_diff, f1)
    return result


# --- model card ---------------------------------------------------------------------------

def _data_sources(cfg) -> dict:
    """Training files and the (source, licence) of their articles, from each article's meta."""
    from rasid.data import iter_articles

    out = {}
    for path, limit in [(cfg.data.train, cfg.data.max_train_articles), *((p, None) for p in cfg.data.extra_train)]:
        p = _resolve(path)
        counts: Counter = Counter()
        try:
            for i, art in enumerate(iter_articles(p)):
                if limit and i >= limit:
                    break
                meta = art.meta or {}
                counts[(str(meta.get("source", "unknown")), str(meta.get("license", "not stated")), str(meta.get("attribution", "")))] += 1
        except (RasidDataError, OSError) as exc:
            log.warning("model card: cannot read training data %s (%s)", path, exc)
            out[str(path)] = None
            continue
        out[str(path)] = [{"source": s, "license": lic, "attribution": att, "articles": n} for (s, lic, att), n in counts.most_common()]
    return out


def _table(rows: list[list[Any]], header: list[str]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def model_card(manifest: dict, report: dict | None) -> str:
    enc = manifest["encoder"]
    origin = enc.get("origin") or {}
    schema = manifest["schema"]
    ent, rel = manifest["entities"], manifest.get("relations")
    parts = [f"# rasid model card: {manifest['model_version']}", "",
             "Who-did-what-where extraction from Arabic news: named entities "
             f"({', '.join(schema_labels(schema, 'entities'))}) and the relations between them "
             f"({', '.join(schema_labels(schema, 'relations')) if rel else 'not trained: entities only'}).", "",
             "## Intended use",
             "- Pre-annotating Arabic news articles for human review (Label Studio), building event and actor indexes, "
             "and searching news by actor and place. Predictions are suggestions with scores, not facts.",
             "- Not for decisions about individuals, targeting, or any use where a wrong name or a wrong relation harms someone; "
             "not for dialects, social media or languages other than Modern Standard Arabic without re-evaluation.", "",
             "## Model",
             f"- Encoder: **{enc['name']}** — {origin.get('source', 'local folder')}"
             + (f"; licence: {origin.get('licence') or origin.get('license')}" if origin.get("licence") or origin.get("license") else "")
             + (" (no pretrained weights)" if enc.get("from_scratch") and not origin.get("licence") else ""),
             f"- Entities: token classification over clitic-aware sub-word pieces (BIO tags {', '.join(ent['tags'])}), "
             f"windows of {ent['max_length']} pieces overlapping by {ent['stride']}; offsets always index the original text.",
             ]
    if rel:
        s = rel["settings"]
        parts.append(f"- Relations: a pair classifier over typed entity markers, windows of {s.get('max_length')} pieces, "
                     f"pairs within {s.get('max_distance')} characters, threshold {s.get('threshold')}.")
    parts += ["- Files: safetensors weights (PyTorch), ONNX graphs (fp32, and int8 dynamically quantised), tokenizer.json; "
              "`manifest.json` lists every file's SHA-256, checked at load.", "",
              "## Training data and licences"]
    sources = manifest.get("training_data") or {}
    if not sources:
        parts.append("- Not recorded.")
    share_alike = False
    for path, rows in sources.items():
        if rows is None:
            parts.append(f"- `{path}`: not readable at export time.")
            continue
        for r in rows:
            share_alike |= "SA" in r["license"]
            att = f" — {r['attribution']}" if r["attribution"] else ""
            parts.append(f"- `{path}`: {r['articles']} articles from {r['source']}, licence {r['license']}{att}")
    parts.append("- See the project's `data/README.md` (data card) for sources, mappings and known gaps.")
    if share_alike:
        parts.append("- Share-alike data: this model is an adaptation of it and is shared under the same licence terms.")
    parts += ["", "## Evaluation"]
    if report:
        e = report.get("entities", {})
        parts.append(f"Held-out test split of the run ({report.get('documents', '?')} articles); entities scored with {e.get('scheme', 'seqeval')}.")
        parts.append("")
        rows = [[lab, m["precision"], m["recall"], m["f1"], m.get("support", "")] for lab, m in e.get("per_label", {}).items()]
        rows.append(["**micro**", e["micro"]["precision"], e["micro"]["recall"], e["micro"]["f1"], ""])
        parts.append(_table(rows, ["entity", "precision", "recall", "F1", "support"]))
        r = report.get("relations") or {}
        if rel and r.get("per_label"):
            parts.append("")
            rows = [[lab, m["precision"], m["recall"], m["f1"], m.get("support", "")] for lab, m in r["per_label"].items()]
            rows.append(["**micro**", r["micro"]["precision"], r["micro"]["recall"], r["micro"]["f1"], ""])
            parts.append(_table(rows, ["relation", "precision", "recall", "F1", "support"]))
    else:
        parts.append("No test report in the run folder.")
    parity = manifest.get("parity")
    if parity:
        parts += ["", f"Exported graphs on {parity['data']} ({parity['articles']} articles): ONNX fp32 logits within "
                      f"{parity['entities']['max_abs_logit_diff']:.1e} of PyTorch, identical spans."]
        if parity.get("f1") and parity["f1"].get("torch"):
            rows = [[name, v["entities"], v["relations"]] for name, v in parity["f1"].items()]
            parts.append("")
            parts.append(_table(rows, ["backend", "entity F1", "relation F1"]))
    parts += ["", "## Limitations",
              "- The shipped training data is silver: labels mapped from another annotation scheme (see the data card); "
              "scores on it measure agreement with those labels, not with this schema's guidelines.",
              "- Rare types (ARMED_GROUP in the shipped data) and all relations have little training data; expect low recall.",
              "- Text is normalised inside the model (diacritics, tatweel, alef forms); offsets refer to the original text.",
              "- Long articles are read in overlapping windows; relations are only looked for between mentions close together.",
              "- The int8 variant is faster and smaller but can differ slightly from fp32"
              + (f" (F1 drop {100 * parity['int8']['f1_drop']:.1f} points on the check set)." if parity and parity["int8"].get("f1_drop") is not None else "."),
              ""]
    return "\n".join(parts)


def schema_labels(schema: dict, part: str) -> list[str]:
    return list((schema.get(part) or {}).keys())


# --- export -------------------------------------------------------------------------------

def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise RasidConfigError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
        raise RasidConfigError(f"{out_dir}: exists and is not a bundle; refusing to overwrite it (choose another OUT)")


def _swap_in(tmp: Path, out_dir: Path) -> None:
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_bundle(run_dir: str | Path, out_dir: str | Path, data: str | Path | None = None, check: bool = True) -> Path:
    """Export a trained run folder to a bundle at `out_dir` (replacing an older bundle there).

    `data`: gold articles for the parity check and the int8 F1 (default: the run's test split).
    `check=False` skips the check (the manifest then says so). Returns `out_dir`.
    """
    from rasid.onnx_graphs import export_entity_graph, export_relation_graph, quantize_int8
    from rasid.predictor import TorchPredictor

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    for need in ("config.yaml", "schema.yaml", "ner/config.json"):
        if not (run_dir / need).is_file():
            raise RasidConfigError(f"{run_dir}: not a finished run folder ({need} is missing)")
    _check_out_dir(out_dir)
    started = time.perf_counter()
    run = TorchPredictor(run_dir)
    schema = run.schema
    data_path = _resolve(data) if data else _resolve(run.cfg.data.test)
    if data and not data_path.exists():
        raise RasidDataError("no such file or folder", path=str(data))
    gold: list[Article] = []
    if check:
        if data_path is not None and data_path.exists():
            gold = _eval_articles(data_path, schema)
        else:
            log.warning("no evaluation data (%s): parity is checked on built-in sample sentences, F1 is not measured", data_path)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        run.tokenizer.backend_tokenizer.save(str(tmp / TOKENIZER_FILE))
        run.ner_model.save_pretrained(tmp / "ner")
        export_entity_graph(run.ner_model, tmp / "onnx" / "entities.onnx")
        quantize_int8(tmp / "onnx" / "entities.onnx", tmp / "onnx" / "entities.int8.onnx")
        ner_settings = _read_json(run_dir / "ner" / "rasid_ner.json") or {}
        from rasid.ner.tagger import special_ids

        entities = {
            "tags": schema.bio_tags, "max_length": run.tagger.max_length, "stride": run.tagger.stride,
            "split_clitics": run.tagger.split_clitics, "normalize": bool(ner_settings.get("normalize", run.cfg.model.normalize)),
            "special_ids": special_ids(run.tokenizer).__dict__, "tokenizer": TOKENIZER_FILE,
            "config": "ner/config.json", "weights": "ner/model.safetensors",
            "onnx": {"fp32": "onnx/entities.onnx", "int8": "onnx/entities.int8.onnx"},
        }
        relations = None
        if run.rel_model is not None:
            (tmp / "relations").mkdir()
            for name in REL_FILES:
                shutil.copy2(run_dir / "relations" / name, tmp / "relations" / name)
            rel_tok = TOKENIZER_FILE
            if run.rel_tokenizer.backend_tokenizer.to_str() != run.tokenizer.backend_tokenizer.to_str():
                rel_tok = "relations/tokenizer.json"
                run.rel_tokenizer.backend_tokenizer.save(str(tmp / rel_tok))
            export_relation_graph(run.rel_model, tmp / "onnx" / "relations.onnx")
            quantize_int8(tmp / "onnx" / "relations.onnx", tmp / "onnx" / "relations.int8.onnx")
            relations = {
                "labels": schema.relation_labels, "none_label": "NONE", "settings": dict(run.cfg.relations.__dict__),
                "normalize": bool(run.cfg.model.normalize), "pad_id": int(run.rel_tokenizer.pad_token_id or 0), "tokenizer": rel_tok,
                "config": "relations/config.json", "weights": "relations/model.safetensors", "head": "relations/relation_head.safetensors",
                "labels_file": "relations/relation_labels.json",
                "onnx": {"fp32": "onnx/relations.onnx", "int8": "onnx/relations.int8.onnx"},
            }
        encoder = _read_json(run_dir / "encoder.json") or {"name": "unknown", "origin": {}}
        encoder.pop("path", None)  # a path on the training machine means nothing elsewhere
        weights_sha = sha256_file(tmp / "ner" / "model.safetensors")
        manifest: dict[str, Any] = {
            "format": BUNDLE_FORMAT, "format_version": FORMAT_VERSION,
            "model_version": f"rasid-{encoder['name']}-{_dt.date.today():%Y%m%d}-{weights_sha[:8]}",
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "schema": schema.to_dict(), "entities": entities, "relations": relations, "encoder": encoder,
            "versions": _versions(), "onnx_opset": 17,
            "metrics": _read_json(run_dir / "metrics.json"), "training_data": _data_sources(run.cfg),
            "parity": None,
        }
        report = _read_json(run_dir / "report.json")
        if report:
            manifest["metrics"] = {**(manifest["metrics"] or {}), "test_report": {k: report.get(k) for k in
                                   ("entities", "entities_exact", "relations", "relation_facts", "documents")}}
        manifest["files"] = {}  # filled below; load_bundle in the check needs the key
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        if check:
            label = str(data_path) if gold else "built-in sample sentences"
            manifest["parity"] = check_parity(run, tmp, gold, label)
        else:
            log.warning("export without the parity check (--no-check): the manifest records parity as unchecked")
        (tmp / "MODEL_CARD.md").write_text(model_card(manifest, report), encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        for rel in bundle_files(tmp):
            os.chmod(tmp / rel, 0o666 & ~umask)  # save_pretrained leaves some files 0600: a server user must read them
        manifest["files"] = {rel: sha256_file(tmp / rel) for rel in bundle_files(tmp)}
        manifest["export_seconds"] = round(time.perf_counter() - started, 1)
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        os.chmod(tmp, 0o777 & ~umask)
        _swap_in(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    log.info("bundle %s: %d files, %.1f MB, %.0f s", out_dir, len(manifest["files"]) + 1, size / 1e6, time.perf_counter() - started)
    return out_dir
