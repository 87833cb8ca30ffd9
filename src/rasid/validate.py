"""Check article files against contract.md §1 and a schema, reporting every problem at once.

`read_articles` stops at the first structural error; a person fixing a file wants the whole
list, so this module parses each line itself and keeps going after a bad one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rasid.articles import Article
from rasid.errors import RasidDataError
from rasid.schema import Schema, load_schema

__all__ = ["Problem", "validate_article", "validate_articles", "validate_file"]


@dataclass(frozen=True)
class Problem:
    path: str
    record: str  # "line 17 (article a1)", "line 3", ...
    message: str

    def __str__(self) -> str:
        return f"{self.path}, {self.record}: {self.message}"

    def to_error(self) -> RasidDataError:
        return RasidDataError(self.message, path=self.path, record=self.record)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_entities(d: dict, text: str | None, schema: Schema) -> tuple[list[str], dict[str, str]]:
    """Messages for the entities, and id → label of the entities that relations may point at."""
    messages: list[str] = []
    labels: dict[str, str] = {}
    spans: list[tuple[int, int, str]] = []
    entities = d.get("entities", [])
    if entities is None:
        entities = []
    if not isinstance(entities, list):
        return ["'entities' should be a list"], labels
    known = set(schema.entity_labels)
    for i, e in enumerate(entities):
        if not isinstance(e, dict):
            messages.append(f"entity #{i} should be an object")
            continue
        eid = e.get("id")
        name = f"entity {eid!r}" if eid is not None else f"entity #{i}"
        if not isinstance(eid, (str, int)) or isinstance(eid, bool):
            messages.append(f"{name}: 'id' missing or not a string")
        elif str(eid) in labels:
            messages.append(f"duplicate entity id {str(eid)!r}")
        start, end, label = e.get("start"), e.get("end"), e.get("label")
        if not isinstance(label, str):
            messages.append(f"{name}: 'label' missing or not a string")
        elif label not in known:
            messages.append(f"{name}: unknown entity label {label!r} (schema has {', '.join(schema.entity_labels)})")
        if eid is not None and isinstance(label, str) and str(eid) not in labels:
            labels[str(eid)] = label
        if not _is_int(start) or not _is_int(end):
            messages.append(f"{name}: 'start' and 'end' must be integers, got {start!r} and {end!r}")
            continue
        if text is None:
            continue
        if start >= end:
            messages.append(f"{name}: start {start} is not before end {end}")
            continue
        if start < 0 or end > len(text):
            messages.append(f"{name}: span [{start}, {end}) is out of range (the text has {len(text)} characters)")
            continue
        if "text" in e and e["text"] != text[start:end]:
            messages.append(f"{name}: text {e['text']!r} does not match text[{start}:{end}] = {text[start:end]!r}")
        spans.append((start, end, str(eid)))
    spans.sort()
    for (s1, e1, id1), (s2, e2, id2) in zip(spans, spans[1:], strict=False):
        if s2 < e1:
            messages.append(f"entities {id1!r} [{s1}, {e1}) and {id2!r} [{s2}, {e2}) overlap (the schema is flat)")
    return messages, labels


def _check_relations(d: dict, labels: dict[str, str], schema: Schema) -> list[str]:
    relations = d.get("relations", [])
    if relations is None:
        return []
    if not isinstance(relations, list):
        return ["'relations' should be a list"]
    messages = []
    for i, r in enumerate(relations):
        if not isinstance(r, dict):
            messages.append(f"relation #{i} should be an object")
            continue
        head, tail, label = r.get("head"), r.get("tail"), r.get("label")
        name = f"relation #{i} ({label} {head} → {tail})"
        missing = [str(x) for x in (head, tail) if x is None or str(x) not in labels]
        if missing:
            messages.append(f"{name}: refers to missing entity {', '.join(repr(m) for m in missing)}")
        if not isinstance(label, str) or label not in schema.relation_by_name:
            messages.append(f"{name}: unknown relation label {label!r}")
        elif not missing:
            hl, tl = labels[str(head)], labels[str(tail)]
            if hl in schema.entity_labels and tl in schema.entity_labels and not schema.relation_allowed(label, hl, tl):
                messages.append(f"{name}: {label} may not join {hl} → {tl}")
    return messages


def validate_article(d: dict | Article, schema: Schema) -> list[str]:
    """Messages (no location) for one article given as its JSON dict or an Article."""
    if isinstance(d, Article):
        d = d.to_dict()
    if not isinstance(d, dict):
        return [f"expected a JSON object, got {type(d).__name__}"]
    messages = []
    if not isinstance(d.get("id"), (str, int)) or isinstance(d.get("id"), bool):
        messages.append("'id' missing or not a string")
    text = d.get("text")
    if not isinstance(text, str):
        messages.append("'text' missing or not a string")
        text = None
    elif not text.strip():
        messages.append("empty text")
    if "meta" in d and d["meta"] is not None and not isinstance(d["meta"], dict):
        messages.append("'meta' should be an object")
    entity_messages, labels = _check_entities(d, text, schema)
    return messages + entity_messages + _check_relations(d, labels, schema)


def validate_articles(
    articles: Iterable[tuple[str, dict | Article]], schema: Schema | None = None, path: str | Path = "<articles>"
) -> list[Problem]:
    """Every problem in (record location, article) pairs, e.g. ("line 3", {...}); ids must be unique."""
    schema = schema or load_schema()
    problems: list[Problem] = []
    first_seen: dict[str, str] = {}
    for where, art in articles:
        d = art.to_dict() if isinstance(art, Article) else art
        art_id = d.get("id") if isinstance(d, dict) else None
        record = f"{where} (article {art_id})" if art_id is not None else where
        for message in validate_article(d, schema):
            problems.append(Problem(str(path), record, message))
        if isinstance(art_id, (str, int)) and not isinstance(art_id, bool):
            if str(art_id) in first_seen:
                problems.append(
                    Problem(str(path), record, f"duplicate article id {str(art_id)!r} (first at {first_seen[str(art_id)]})")
                )
            else:
                first_seen[str(art_id)] = where
    return problems


def validate_file(path: str | Path, schema: Schema | None = None) -> list[Problem]:
    """Every problem in a JSONL file of articles (a line that is not JSON is reported and skipped)
    or in a Label Studio JSON export (a task that does not convert is reported and skipped)."""
    path = Path(path)
    if not path.exists():
        return [Problem(str(path), "file", "no such file")]
    if path.suffix == ".json":
        return _validate_export(path, schema or load_schema())
    problems: list[Problem] = []
    parsed: list[tuple[str, dict]] = []
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                parsed.append((f"line {lineno}", json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append(Problem(str(path), f"line {lineno}", f"not valid JSON ({exc.msg} at column {exc.colno})"))
    problems.extend(validate_articles(parsed, schema, path))
    problems.sort(key=lambda p: int(p.record.split()[1]) if p.record.startswith("line ") else 0)
    return problems


def _validate_export(path: Path, schema: Schema) -> list[Problem]:
    from rasid.labelstudio.convert import export_to_articles, read_export

    try:
        tasks = read_export(path)
    except RasidDataError as exc:
        return [Problem(str(path), exc.record or "file", exc.detail)]
    problems: list[Problem] = []
    converted: list[tuple[str, Article]] = []
    for index, task in enumerate(tasks):
        where = f"task {task['id']}" if isinstance(task, dict) and task.get("id") is not None else f"task #{index}"
        try:
            articles = export_to_articles([task], schema, source_path=str(path))
        except RasidDataError as exc:
            problems.append(Problem(str(path), exc.record or where, exc.detail))
            continue
        converted.extend((where, article) for article in articles)
    problems.extend(validate_articles(converted, schema, path))
    return problems
