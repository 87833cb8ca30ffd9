"""Label Studio JSON export <-> article records (contract.md §1), without loss.

An export is a list of tasks; each task has `data` (the text and whatever else was imported),
`annotations` and `predictions`. One annotation (or prediction) per task becomes one article:
`labels` results become entities (the Label Studio region id is kept as the entity id) and
`relation` results become relations. Symmetric relations are stored once, head first in the
text, as schema.md asks. The task's other data fields and the Label Studio ids go to
`meta`, so `articles_to_tasks` can rebuild the task and a second conversion gives the same
articles.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rasid.articles import Article, Entity, Relation
from rasid.errors import RasidDataError
from rasid.labelstudio.config import LABELS_NAME, TEXT_NAME
from rasid.schema import Schema, load_schema

__all__ = ["export_to_articles", "articles_to_tasks", "read_export", "META_KEY", "Selection"]

log = logging.getLogger(__name__)

# Where the Label Studio ids of a converted task live inside `Article.meta`.
META_KEY = "labelstudio"
# "latest" / "first" completed annotation, a user id (their latest), or "prediction" (the latest one).
Selection = str | int

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def read_export(path: str | Path) -> list[dict]:
    """Load a Label Studio JSON export (a list of tasks) or JSON-MIN export (a list of flat rows).

    JSON-MIN rows are turned back into tasks with one annotation, so `export_to_articles`
    takes either. JSON-MIN drops relations and region ids, so prefer the JSON export.
    """
    path = Path(path)
    if not path.exists():
        raise RasidDataError("no such file", path=str(path))
    try:
        with path.open(encoding="utf-8") as handle:
            tasks = json.load(handle)
    except json.JSONDecodeError as exc:
        raise RasidDataError(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", path=str(path)) from None
    if isinstance(tasks, dict):
        tasks = [tasks]  # a single task saved on its own
    if not isinstance(tasks, list):
        raise RasidDataError(f"expected a list of Label Studio tasks, got {type(tasks).__name__}", path=str(path))
    if tasks and all(_is_json_min(row) for row in tasks):
        return _group_json_min([_from_json_min(row, path, i) for i, row in enumerate(tasks)])
    return tasks


def _group_json_min(rows: list[dict]) -> list[dict]:
    """JSON-MIN has one row per annotation; put a task's rows back together."""
    by_task: dict[Any, dict] = {}
    for row in rows:
        task = by_task.setdefault(row["id"], {**row, "annotations": []})
        task["annotations"].extend(row["annotations"])
    return list(by_task.values())


def _is_json_min(row: Any) -> bool:
    return isinstance(row, dict) and "data" not in row and "annotations" not in row and TEXT_NAME in row


def _from_json_min(row: dict, path: Path, index: int) -> dict:
    """A JSON-MIN row as a task. JSON-MIN writes the task id over any `id` in the data, so
    articles from it are named `ls-<task id>`."""
    spans = row.get(LABELS_NAME) or []
    if not isinstance(spans, list):
        raise RasidDataError(f"JSON-MIN field '{LABELS_NAME}' should be a list of spans", path=str(path), record=f"task {row.get('id', f'#{index}')}")
    result = [
        {"id": f"r{i}", "from_name": LABELS_NAME, "to_name": TEXT_NAME, "type": "labels", "value": span}
        for i, span in enumerate(spans)
    ]
    reserved = {LABELS_NAME, "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "id"}
    annotation = {
        "id": row.get("annotation_id"),
        "completed_by": row.get("annotator"),
        "created_at": row.get("created_at"),
        "updated_at": row.get("updated_at"),
        "was_cancelled": False,
        "result": result,
    }
    data = {k: v for k, v in row.items() if k not in reserved}
    has_annotation = bool(spans) or row.get("annotation_id") is not None
    return {"id": row.get("id"), "data": data, "annotations": [annotation] if has_annotation else []}


# ---------------------------------------------------------------------------------------------
# export -> articles


def export_to_articles(
    tasks: list[dict],
    schema: Schema | None = None,
    *,
    annotation: Selection = "latest",
    source_path: str | Path | None = None,
    keep_unannotated: bool = False,
) -> list[Article]:
    """Convert exported tasks to articles, one per task that has a usable annotation.

    `annotation`: "latest" (default: the most recently updated completed annotation), "first",
    a Label Studio user id, int or digits (that annotator's latest), or "prediction" (the latest prediction,
    scores kept). Cancelled (skipped) annotations never count. Tasks without a usable one are
    skipped with a logged count, or kept with no entities when `keep_unannotated`.
    Every inconsistency raises RasidDataError naming `source_path` and the task.
    `schema=None` means the project's default schema (configs/schema.yaml).
    """
    schema = schema or load_schema()
    if isinstance(annotation, str) and annotation.isdigit():
        annotation = int(annotation)  # a user id as typed on the command line
    where_file = str(source_path) if source_path else None
    if annotation not in ("latest", "first", "prediction") and (not isinstance(annotation, int) or isinstance(annotation, bool)):
        raise RasidDataError(f"unknown annotation choice {annotation!r}: use 'latest', 'first', 'prediction' or a user id")
    if not isinstance(tasks, list):
        raise RasidDataError(f"expected a list of Label Studio tasks, got {type(tasks).__name__}", path=where_file)
    articles, skipped, seen = [], 0, {}
    for index, task in enumerate(tasks):
        record = _task_name(task, index)
        try:
            article = _task_to_article(task, schema, annotation, keep_unannotated)
        except RasidDataError as exc:
            raise RasidDataError(exc.detail, path=where_file, record=record + (f", {exc.record}" if exc.record else "")) from None
        if article is None:
            skipped += 1
            continue
        if article.id in seen:
            raise RasidDataError(f"article id {article.id!r} is also used by {seen[article.id]} (imported twice?)", path=where_file, record=record)
        seen[article.id] = record
        articles.append(article)
    if skipped:
        log.info("%s: skipped %d of %d tasks with no usable %s", where_file or "export", skipped, len(tasks), _describe(annotation))
    return articles


def _task_name(task: Any, index: int) -> str:
    if not isinstance(task, dict):
        return f"task #{index}"
    name = f"task {task['id']}" if task.get("id") is not None else f"task #{index}"
    data_id = task.get("data", {}).get("id") if isinstance(task.get("data"), dict) else None
    return f"{name} (article {data_id})" if data_id is not None else name


def _describe(selection: Selection) -> str:
    if selection == "prediction":
        return "prediction"
    if isinstance(selection, int):
        return f"annotation by user {selection}"
    return "completed annotation"


def _task_to_article(task: Any, schema: Schema, selection: Selection, keep_unannotated: bool) -> Article | None:
    if not isinstance(task, dict):
        raise RasidDataError(f"a task should be a JSON object, got {type(task).__name__}")
    data = task.get("data")
    if not isinstance(data, dict):
        raise RasidDataError("task has no 'data' object")
    text = data.get(TEXT_NAME)
    if not isinstance(text, str):
        raise RasidDataError(f"task data has no '{TEXT_NAME}' string (the labeling config reads $text)")
    if META_KEY in data:
        raise RasidDataError(f"task data field '{META_KEY}' clashes with the key rasid keeps Label Studio ids under")

    chosen = _choose(task, selection)
    if chosen is None and not keep_unannotated:
        return None
    task_id = task.get("id")
    article_id = data.get("id")
    if article_id is None and task_id is None:
        raise RasidDataError("task has neither a data 'id' nor a Label Studio id to name the article by")
    article_id = str(article_id) if article_id is not None else f"ls-{task_id}"

    meta = {k: v for k, v in data.items() if k not in (TEXT_NAME, "id")}
    ids: dict[str, Any] = {"task_id": task_id}
    if chosen is not None:
        kind, item = chosen
        ids.update(_item_ids(kind, item))
        where = f"{kind} {item.get('id')}"
        try:
            entities, relations = _result_to_spans(item.get("result"), text, schema)
        except RasidDataError as exc:
            raise RasidDataError(exc.detail, record=where) from None
    else:
        entities, relations = [], []
    meta[META_KEY] = ids
    return Article(id=article_id, text=text, entities=entities, relations=relations, meta=meta)


def _item_ids(kind: str, item: dict) -> dict:
    if kind == "prediction":
        out = {"prediction_id": item.get("id"), "model_version": item.get("model_version")}
        if item.get("score") is not None:
            out["score"] = item["score"]
        return out
    completed_by = item.get("completed_by")
    if isinstance(completed_by, dict):  # some exports expand the user
        completed_by = completed_by.get("id")
    return {
        "annotation_id": item.get("id"),
        "completed_by": completed_by,
        "created_at": item.get("created_at"),
        "updated_at": item.get("updated_at"),
    }


def _when(item: dict, *fields: str) -> datetime:
    for name in fields:
        value = item.get(name)
        if isinstance(value, str) and value:
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return _EPOCH


def _order_key(item: dict, *time_fields: str) -> tuple:
    item_id = item.get("id")
    return (_when(item, *time_fields), item_id if isinstance(item_id, int) else -1)


def _choose(task: dict, selection: Selection) -> tuple[str, dict] | None:
    """The annotation (or prediction) that stands for this task, or None."""
    if selection == "prediction":
        if any(not isinstance(p, dict) for p in task.get("predictions") or []):
            raise RasidDataError("predictions are exported as ids only; export with full predictions (rasid.labelstudio.client.export_tasks)")
        predictions = task.get("predictions") or []
        return ("prediction", max(predictions, key=lambda p: _order_key(p, "updated_at", "created_at"))) if predictions else None
    done = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    if isinstance(selection, int) and not isinstance(selection, bool):
        done = [a for a in done if _user_id(a) == selection]
        selection = "latest"
    if not done:
        return None
    if selection == "latest":
        return "annotation", max(done, key=lambda a: _order_key(a, "updated_at", "created_at"))
    return "annotation", min(done, key=lambda a: _order_key(a, "created_at", "updated_at"))


def _user_id(annotation: dict) -> Any:
    user = annotation.get("completed_by")
    return user.get("id") if isinstance(user, dict) else user


def _result_to_spans(result: Any, text: str, schema: Schema) -> tuple[list[Entity], list[Relation]]:
    if not isinstance(result, list):
        raise RasidDataError("'result' should be a list")
    entity_labels = set(schema.entity_labels)
    entities: dict[str, Entity] = {}
    raw_relations = []
    for item in result:
        if not isinstance(item, dict):
            raise RasidDataError("a result item should be a JSON object")
        kind = item.get("type")
        if kind == "relation":
            raw_relations.append(item)
        elif kind == "labels":
            entity = _region_to_entity(item, text, entity_labels)
            if entity.id in entities:
                raise RasidDataError(f"region {entity.id!r} appears twice")
            entities[entity.id] = entity
        else:
            # anything else would be silently lost on the way back; the project config is not ours
            raise RasidDataError(f"result of type {kind!r} (region {item.get('id')!r}) is not a span or relation this schema knows")
    relations = _relations(raw_relations, entities, schema)
    ordered = sorted(entities.values(), key=lambda e: (e.start, e.end, e.label, e.id))
    return ordered, relations


def _region_to_entity(item: dict, text: str, entity_labels: set[str]) -> Entity:
    region_id = item.get("id")
    if not isinstance(region_id, str | int) or region_id == "":
        raise RasidDataError("a labels region has no id")
    region = f"region {region_id!r}"
    value = item.get("value")
    if not isinstance(value, dict):
        raise RasidDataError(f"{region} has no 'value'")
    start, end = value.get("start"), value.get("end")
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool):
        raise RasidDataError(f"{region} needs integer start/end, got {start!r}/{end!r}")
    if not 0 <= start < end <= len(text):
        raise RasidDataError(f"{region} spans {start}..{end} but the text has {len(text)} characters")
    labels = value.get("labels")
    if not isinstance(labels, list) or not labels:
        raise RasidDataError(f"{region} ({text[start:end]!r}) has no label")
    if len(labels) > 1:
        raise RasidDataError(f"{region} ({text[start:end]!r}) has several labels {labels}; a span takes one")
    label = labels[0]
    if label not in entity_labels:
        raise RasidDataError(f"{region} has label {label!r}, which the schema does not know (schema: {sorted(entity_labels)})")
    span_text = value.get("text")
    if span_text is not None and span_text != text[start:end]:
        raise RasidDataError(f"{region} says {span_text!r} but the text at {start}..{end} is {text[start:end]!r}")
    score = item.get("score")
    return Entity(id=str(region_id), start=start, end=end, label=label, text=text[start:end], score=_score(score, region))


def _score(score: Any, where: str) -> float | None:
    if score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise RasidDataError(f"{where} has a non-numeric score {score!r}")
    return float(score)


def _relations(items: list[dict], entities: dict[str, Entity], schema: Schema) -> list[Relation]:
    out: list[Relation] = []
    seen: set[tuple[str, str, str]] = set()
    for item in items:
        from_id, to_id = item.get("from_id"), item.get("to_id")
        where = f"relation {from_id!r} -> {to_id!r}"
        for end_id in (from_id, to_id):
            if str(end_id) not in entities:
                raise RasidDataError(f"{where} points to region {end_id!r}, which is not a span in this annotation")
        labels = item.get("labels")
        if not isinstance(labels, list) or not labels:
            raise RasidDataError(f"{where} has no label")
        direction = item.get("direction", "right")
        for label in labels:  # several labels on one arrow are several facts
            if label not in schema.relation_by_name:
                raise RasidDataError(f"{where} has label {label!r}, which the schema does not know (schema: {schema.relation_labels})")
            head, tail = _orient(entities[str(from_id)], entities[str(to_id)], label, direction, schema, where)
            key = (head.id, tail.id, label)
            if key in seen:
                log.debug("%s: duplicate %s dropped", where, label)
                continue
            seen.add(key)
            out.append(Relation(head=head.id, tail=tail.id, label=label, score=_score(item.get("score"), where)))
    return out


def _orient(source: Entity, target: Entity, label: str, direction: Any, schema: Schema, where: str) -> tuple[Entity, Entity]:
    """(head, tail) for one arrow: `right` is source->target, `left` target->source, `bi` both."""
    if label in schema.symmetric_relations:
        if not schema.relation_allowed(label, source.label, target.label):
            raise RasidDataError(f"{where}: {label} cannot join {source.label} and {target.label}")
        # stored once, the mention that comes first in the text as head
        return (source, target) if (source.start, source.end) <= (target.start, target.end) else (target, source)
    if direction == "right":
        candidates = [(source, target)]
    elif direction == "left":
        candidates = [(target, source)]
    elif direction == "bi":
        candidates = [(source, target), (target, source)]
    else:
        raise RasidDataError(f"{where} has direction {direction!r}; expected right, left or bi")
    allowed = [(h, t) for h, t in candidates if schema.relation_allowed(label, h.label, t.label)]
    if len(allowed) == 1:
        return allowed[0]
    if not allowed:
        pairs = " or ".join(f"{h.label}->{t.label}" for h, t in candidates)
        rel = schema.relation_by_name[label]
        raise RasidDataError(f"{where}: {label} cannot join {pairs} (head {list(rel.heads)}, tail {list(rel.tails)}); is the arrow reversed?")
    raise RasidDataError(f"{where}: {label} drawn both ways ('bi') but it is not symmetric; draw it from head to tail")


# ---------------------------------------------------------------------------------------------
# articles -> tasks


def articles_to_tasks(
    articles: Iterable[Article],
    schema: Schema | None = None,
    *,
    as_predictions: bool = False,
    model_version: str | None = None,
) -> list[dict]:
    """Label Studio tasks from articles, ready to import or shaped like an export.

    With `as_predictions`, spans and relations go in `predictions` (with `model_version`,
    a task-level `score` = mean entity score, and per-region scores) so a project shows them as
    pre-annotations; otherwise in `annotations`, carrying the Label Studio ids kept in meta.
    """
    schema = schema or load_schema()
    known_entities, known_relations = set(schema.entity_labels), set(schema.relation_labels)
    tasks = []
    for article in articles:
        meta = dict(article.meta or {})
        ids = meta.pop(META_KEY, None) or {}
        for key in (TEXT_NAME, "id"):
            if key in meta:
                raise RasidDataError(f"meta field '{key}' would overwrite the task's own {key}", record=f"article {article.id}")
        for e in article.entities:
            if e.label not in known_entities:
                raise RasidDataError(f"entity {e.id!r} has label {e.label!r}, which the schema does not know", record=f"article {article.id}")
        for r in article.relations:
            if r.label not in known_relations:
                raise RasidDataError(f"relation {r.head}->{r.tail} has label {r.label!r}, which the schema does not know", record=f"article {article.id}")
        task: dict[str, Any] = {"data": {TEXT_NAME: article.text, "id": article.id, **meta}}
        if ids.get("task_id") is not None:
            task["id"] = ids["task_id"]
        result = _article_result(article, schema)
        if as_predictions:
            prediction: dict[str, Any] = {"model_version": model_version or ids.get("model_version") or "rasid", "result": result}
            if ids.get("prediction_id") is not None:
                prediction["id"] = ids["prediction_id"]
            scores = [e.score for e in article.entities if e.score is not None]
            if scores:
                prediction["score"] = round(sum(scores) / len(scores), 4)
            elif ids.get("score") is not None:
                prediction["score"] = ids["score"]
            task["predictions"] = [prediction]
        else:
            annotation: dict[str, Any] = {"result": result, "was_cancelled": False, "ground_truth": False}
            for ours, theirs in (("annotation_id", "id"), ("completed_by", "completed_by"), ("created_at", "created_at"), ("updated_at", "updated_at")):
                if ids.get(ours) is not None:
                    annotation[theirs] = ids[ours]
            task["annotations"] = [annotation]
        tasks.append(task)
    return tasks


def _article_result(article: Article, schema: Schema) -> list[dict]:
    result: list[dict] = []
    for e in article.entities:
        if article.text[e.start : e.end] != e.text:
            raise RasidDataError(
                f"entity {e.id!r} says {e.text!r} but the text at {e.start}..{e.end} is {article.text[e.start:e.end]!r}",
                record=f"article {article.id}",
            )
        region: dict[str, Any] = {
            "id": e.id,
            "from_name": LABELS_NAME,
            "to_name": TEXT_NAME,
            "type": "labels",
            "value": {"start": e.start, "end": e.end, "text": e.text, "labels": [e.label]},
        }
        if e.score is not None:
            region["score"] = round(float(e.score), 4)
        result.append(region)
    known = {e.id for e in article.entities}
    for r in article.relations:
        if r.head not in known or r.tail not in known:
            raise RasidDataError(f"relation {r.head}->{r.tail} ({r.label}) names an entity the article lacks", record=f"article {article.id}")
        item: dict[str, Any] = {
            "from_id": r.head,
            "to_id": r.tail,
            "type": "relation",
            "direction": "bi" if r.label in schema.symmetric_relations else "right",
            "labels": [r.label],
        }
        if r.score is not None:
            item["score"] = round(float(r.score), 4)
        result.append(item)
    return result
