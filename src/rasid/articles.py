"""The article record of contract.md §1: the one type that data moves as.

Offsets are Python string indices (code points) into the original `text`, end exclusive;
`text[start:end] == entity.text` always holds for records built here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rasid.errors import RasidDataError
from rasid.io import atomic_write

__all__ = ["Entity", "Relation", "Article", "read_articles", "write_articles", "article_from_dict"]


@dataclass
class Entity:
    id: str
    start: int
    end: int
    label: str
    text: str
    score: float | None = None

    def to_dict(self) -> dict:
        out = {"id": self.id, "start": self.start, "end": self.end, "label": self.label, "text": self.text}
        if self.score is not None:
            out["score"] = round(float(self.score), 4)
        return out


@dataclass
class Relation:
    head: str
    tail: str
    label: str
    score: float | None = None

    def to_dict(self) -> dict:
        out = {"head": self.head, "tail": self.tail, "label": self.label}
        if self.score is not None:
            out["score"] = round(float(self.score), 4)
        return out


@dataclass
class Article:
    id: str
    text: str
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    meta: dict | None = None

    def to_dict(self) -> dict:
        out = {
            "id": self.id,
            "text": self.text,
            "entities": [e.to_dict() for e in self.entities],
            "relations": [r.to_dict() for r in self.relations],
        }
        if self.meta is not None:
            out["meta"] = self.meta
        return out

    def entity_by_id(self) -> dict[str, Entity]:
        return {e.id: e for e in self.entities}


def _require(d: dict, key: str, kind: type | tuple, where: str):
    if key not in d:
        raise RasidDataError(f"missing field '{key}'", record=where)
    value = d[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise RasidDataError(f"field '{key}' should be {getattr(kind, '__name__', kind)}, got {type(value).__name__}", record=where)
    return value


def article_from_dict(d: dict, where: str = "") -> Article:
    """Build an Article from its JSON shape; structural problems raise RasidDataError.

    Semantic checks (offsets, labels, schema) are `rasid.validate`'s job, so that one run can
    report every problem at once instead of stopping at the first.
    """
    if not isinstance(d, dict):
        raise RasidDataError(f"expected a JSON object, got {type(d).__name__}", record=where)
    art_id = d.get("id")
    where = f"{where} (article {art_id})" if where and art_id is not None else where or f"article {art_id}"
    art_id = _require(d, "id", (str, int), where)
    text = _require(d, "text", str, where)
    entities = []
    for i, e in enumerate(d.get("entities") or []):
        ew = f"{where}, entity #{i}"
        if not isinstance(e, dict):
            raise RasidDataError("entity should be an object", record=ew)
        entities.append(
            Entity(
                id=str(_require(e, "id", (str, int), ew)),
                start=_require(e, "start", int, ew),
                end=_require(e, "end", int, ew),
                label=_require(e, "label", str, ew),
                text=e["text"] if isinstance(e.get("text"), str) else text[e["start"] : e["end"]],
                score=e.get("score"),
            )
        )
    relations = []
    for i, r in enumerate(d.get("relations") or []):
        rw = f"{where}, relation #{i}"
        if not isinstance(r, dict):
            raise RasidDataError("relation should be an object", record=rw)
        relations.append(
            Relation(
                head=str(_require(r, "head", (str, int), rw)),
                tail=str(_require(r, "tail", (str, int), rw)),
                label=_require(r, "label", str, rw),
                score=r.get("score"),
            )
        )
    meta = d.get("meta")
    return Article(id=str(art_id), text=text, entities=entities, relations=relations, meta=meta)


def read_articles(path: str | Path) -> Iterator[Article]:
    """Stream articles from a JSONL file; a bad line raises RasidDataError naming file and line."""
    path = Path(path)
    if not path.exists():
        raise RasidDataError("no such file", path=str(path))
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RasidDataError(f"not valid JSON ({exc.msg} at column {exc.colno})", path=str(path), record=f"line {lineno}") from None
            try:
                yield article_from_dict(d, where=f"line {lineno}")
            except RasidDataError as exc:
                raise RasidDataError(exc.detail, path=str(path), record=exc.record) from None


def write_articles(path: str | Path, articles: Iterable[Article | dict]) -> int:
    """Write articles as JSONL atomically; returns how many were written."""
    n = 0
    with atomic_write(path) as handle:
        for art in articles:
            d = art.to_dict() if isinstance(art, Article) else art
            handle.write(json.dumps(d, ensure_ascii=False) + "\n")
            n += 1
    return n
