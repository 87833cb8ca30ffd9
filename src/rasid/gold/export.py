"""Resolve every annotation file and write the gold corpus: the Label Studio export JSON and
one article JSONL per split (contract.md §1).

Only files directly in data/gold/annotations/ are the gold (pass 1, adjudicated); second
passes for agreement live in data/gold/annotations/pass2/ and are never exported.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rasid.articles import Article, write_articles
from rasid.errors import RasidDataError
from rasid.gold.resolve import Resolution, load_annotation_file, resolve_annotation
from rasid.io import atomic_write
from rasid.schema import Schema

__all__ = [
    "GoldPaths",
    "BuildResult",
    "load_selection",
    "load_splits",
    "resolve_file",
    "resolve_all",
    "to_labelstudio_task",
    "build_gold",
    "format_counts",
]

log = logging.getLogger(__name__)
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class GoldPaths:
    root: Path

    @property
    def selection(self) -> Path:
        return self.root / "selection.jsonl"

    @property
    def splits(self) -> Path:
        return self.root / "splits.yaml"

    @property
    def annotations(self) -> Path:
        return self.root / "annotations"

    @property
    def export(self) -> Path:
        return self.root / "gold_labelstudio.json"

    def split_file(self, split: str) -> Path:
        return self.root / f"{split}.jsonl"


@dataclass
class BuildResult:
    articles: list[Article] = field(default_factory=list)
    split_of: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    not_annotated: int = 0


def load_selection(path: Path) -> dict[str, dict]:
    """id → {id, text, meta}, in selection order."""
    out: dict[str, dict] = {}
    if not path.exists():
        raise RasidDataError("selection file missing: run scripts/select_gold_articles.py", path=str(path))
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RasidDataError(f"not valid JSON ({exc.msg})", path=str(path), record=f"line {lineno}") from None
                out[rec["id"]] = rec
    return out


def load_splits(path: Path) -> dict[str, str]:
    """id → split name."""
    if not path.exists():
        raise RasidDataError("splits file missing: run scripts/select_gold_articles.py", path=str(path))
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(i): name for name in SPLITS for i in data.get(name) or []}


def resolve_file(path: Path, selection: dict[str, dict], splits: dict[str, str], schema: Schema) -> Resolution:
    """Resolve one annotation file against its selected article."""
    ann = load_annotation_file(path)
    rec = selection.get(ann.article_id)
    if rec is None:
        raise RasidDataError(f"article {ann.article_id!r} is not in the selection", path=str(path))
    meta = {**rec["meta"], "split": splits.get(ann.article_id, "")}
    return resolve_annotation(ann, rec["text"], schema, meta=meta)


def resolve_all(paths: GoldPaths, schema: Schema) -> BuildResult:
    """Resolve every gold file; errors are collected (all of them), not raised."""
    selection = load_selection(paths.selection)
    splits = load_splits(paths.splits)
    result = BuildResult(split_of=splits)
    files = {p.stem: p for p in sorted(paths.annotations.glob("*.yaml"))}
    for stray in sorted(set(files) - set(selection)):
        result.errors.append(f"{files[stray]}: article {stray!r} is not in the selection")
    for art_id in selection:  # selection order, so the export is stable
        path = files.get(art_id)
        if path is None:
            result.not_annotated += 1
            continue
        try:
            res = resolve_file(path, selection, splits, schema)
        except RasidDataError as exc:
            result.errors.append(str(exc))
            continue
        if res.annotation.pass_ != 1:
            result.errors.append(f"{path}: gold files are pass 1 (second passes go in {paths.annotations / 'pass2'})")
            continue
        if not res.article.entities:
            result.errors.append(f"{path}: no entities (an unfinished file? every selected article names places or actors)")
            continue
        result.articles.append(res.article)
        if res.warnings:
            result.warnings[str(path)] = res.warnings
    return result


def to_labelstudio_task(article: Article, task_id: int) -> dict:
    """One Label Studio task with its completed annotation, as LS exports it."""
    meta = article.meta or {}
    result: list[dict] = [
        {
            "id": e.id,
            "from_name": "label",
            "to_name": "text",
            "type": "labels",
            "value": {"start": e.start, "end": e.end, "text": e.text, "labels": [e.label]},
        }
        for e in article.entities
    ]
    result += [
        {"from_id": r.head, "to_id": r.tail, "type": "relation", "direction": "right", "labels": [r.label]}
        for r in article.relations
    ]
    data = {"text": article.text, "id": article.id}
    data.update({k: meta.get(k, "") for k in ("source", "url", "date", "license", "split")})
    return {
        "id": task_id,
        "data": data,
        "annotations": [
            {
                "id": task_id,
                "result": result,
                "was_cancelled": False,
                "ground_truth": True,
                "created_username": meta.get("annotator", ""),
                "meta": {"pass": meta.get("pass"), "method": meta.get("method"), "corpus": meta.get("corpus"), "conflict": meta.get("conflict")},
            }
        ],
        "predictions": [],
    }


def build_gold(paths: GoldPaths, schema: Schema, write: bool = True) -> BuildResult:
    """Resolve all files; when none fails, write the export and the split files."""
    result = resolve_all(paths, schema)
    if result.errors or not write:
        return result
    order = list(load_selection(paths.selection))
    task_ids = {art_id: i for i, art_id in enumerate(order, 1)}  # stable as more files arrive
    tasks = [to_labelstudio_task(a, task_ids[a.id]) for a in result.articles]
    with atomic_write(paths.export) as handle:
        json.dump(tasks, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    for split in SPLITS:
        write_articles(paths.split_file(split), [a for a in result.articles if result.split_of.get(a.id) == split])
    for path in [paths.export, *(paths.split_file(s) for s in SPLITS)]:
        path.chmod(0o644)  # atomic_write's temp files are private; data files are for everyone
    return result


def format_counts(articles: list[Article], split_of: dict[str, str], schema: Schema) -> str:
    """A table of articles, entity labels and relation labels per split."""
    ents: Counter = Counter()
    rels: Counter = Counter()
    docs: Counter = Counter()
    for a in articles:
        split = split_of.get(a.id, "?")
        docs[split] += 1
        ents.update((split, e.label) for e in a.entities)
        rels.update((split, r.label) for r in a.relations)
    cols = list(SPLITS)
    lines = [f"{'':16}" + "".join(f"{c:>8}" for c in cols) + f"{'all':>8}"]

    def row(name: str, counter: Counter, key) -> str:
        vals = [counter[(c, key)] if key is not None else counter[c] for c in cols]
        return f"{name:16}" + "".join(f"{v:8}" for v in vals) + f"{sum(vals):8}"

    lines.append(row("articles", docs, None))
    lines += [row(label, ents, label) for label in schema.entity_labels]
    lines.append(f"{'entities':16}" + "".join(f"{sum(v for (s, _), v in ents.items() if s == c):8}" for c in cols) + f"{sum(ents.values()):8}")
    lines += [row(label, rels, label) for label in schema.relation_labels]
    lines.append(f"{'relations':16}" + "".join(f"{sum(v for (s, _), v in rels.items() if s == c):8}" for c in cols) + f"{sum(rels.values()):8}")
    return "\n".join(lines)
