"""Talking to a Label Studio server through label-studio-sdk 2.x: projects, imports, exports.

Also the small builders an annotator's clicks turn into (`span`, `relation`), used by the
fixture script and the integration test to annotate through the API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from rasid.articles import Article
from rasid.errors import RasidConfigError, RasidDataError
from rasid.labelstudio.config import LABELS_NAME, TEXT_NAME, config_differences, labeling_config
from rasid.labelstudio.convert import articles_to_tasks
from rasid.schema import Schema

__all__ = ["connect", "create_project", "check_project", "import_articles", "export_tasks", "export_quick", "export_json", "span", "relation"]

log = logging.getLogger(__name__)


def connect(url: str, token: str):
    """A `LabelStudio` client; the SDK is imported here so the rest of rasid never needs it."""
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=url, api_key=token)


def create_project(ls, schema: Schema, title: str, description: str = "") -> int:
    """A new project labelled with the schema's config; returns its id."""
    project = ls.projects.create(title=title, description=description, label_config=labeling_config(schema))
    log.info("created Label Studio project %s (%r)", project.id, title)
    return project.id


def check_project(ls, project_id: int, schema: Schema) -> None:
    """Refuse a project whose labels differ from the schema's, listing every difference."""
    xml = ls.projects.get(id=project_id).label_config
    problems = config_differences(schema, xml)
    if problems:
        raise RasidConfigError(f"Label Studio project {project_id} does not match the schema: " + "; ".join(problems))


def import_articles(
    ls, project_id: int, articles: Iterable[Article], schema: Schema, *, as_predictions: bool = False, model_version: str | None = None
) -> list[int]:
    """Import articles as tasks (with their spans as annotations or predictions); returns the new task ids.

    An article with no spans becomes a task still to be annotated: as an (empty) annotation it
    would count as done and never be proposed to an annotator.
    """
    articles = list(articles)
    tasks = articles_to_tasks(articles, schema, as_predictions=as_predictions, model_version=model_version)
    for task, article in zip(tasks, articles):
        task.pop("id", None)  # ids belong to the server that assigns them
        if not as_predictions and not article.entities and not article.relations:
            task.pop("annotations", None)
    response = ls.projects.import_tasks(id=project_id, request=tasks, return_task_ids=True)
    return list(response.task_ids or [])


def export_tasks(ls, project_id: int, *, timeout_s: float = 120.0) -> bytes:
    """The project's full JSON export as the server wrote it: every task, cancelled annotations
    and whole predictions included (the quick export endpoint gives prediction ids only)."""
    from label_studio_sdk import LseAnnotationFilterOptionsRequest, SerializationOptionRequest, SerializationOptionsRequest

    snapshot = ls.projects.exports.create(
        project_id,
        title="rasid export",
        serialization_options=SerializationOptionsRequest(predictions=SerializationOptionRequest(only_id=False)),
        annotation_filter_options=LseAnnotationFilterOptionsRequest(usual=True, ground_truth=True, skipped=True),
    )
    deadline = time.monotonic() + timeout_s
    while (status := ls.projects.exports.get(project_id, snapshot.id).status) != "completed":
        if status == "failed" or time.monotonic() > deadline:
            raise RasidConfigError(f"Label Studio export {snapshot.id} of project {project_id} ended as {status!r}")
        time.sleep(0.5)
    return _join(ls.projects.exports.download(project_id, snapshot.id, export_type="JSON"))


def export_quick(ls, project_id: int, export_type: str = "JSON") -> bytes:
    """The export the UI's Export button gives (predictions as ids), in any format (JSON, JSON_MIN, ...)."""
    return _join(ls.projects.exports.download_sync(project_id, export_type=export_type, download_all_tasks=True))


def _join(chunks) -> bytes:
    return chunks if isinstance(chunks, bytes) else b"".join(chunks)


def export_json(ls, project_id: int) -> list[dict]:
    return json.loads(export_tasks(ls, project_id))


def span(text: str, needle: str, label: str, *, occurrence: int = 1, region_id: str | None = None, score: float | None = None) -> dict:
    """A `labels` result for the `occurrence`-th `needle` in `text`, as the editor saves it."""
    start = -1
    for _ in range(occurrence):
        start = text.find(needle, start + 1)
        if start < 0:
            raise RasidDataError(f"{needle!r} occurs fewer than {occurrence} times in the text")
    end = start + len(needle)
    item: dict[str, Any] = {
        "id": region_id or _region_id(text, start, end, label),
        "from_name": LABELS_NAME,
        "to_name": TEXT_NAME,
        "type": "labels",
        "origin": "manual",
        "value": {"start": start, "end": end, "text": needle, "labels": [label]},
    }
    if score is not None:
        item["score"] = score
    return item


def _region_id(text: str, start: int, end: int, label: str) -> str:
    """A 10-character id like the editor's random ones, but stable so fixtures rebuild identically."""
    digest = hashlib.sha256(f"{start}:{end}:{label}:{text}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:10]


def relation(source: dict, target: dict, label: str, *, direction: str = "right") -> dict:
    """A `relation` result between two regions, as the editor saves it."""
    return {"from_id": source["id"], "to_id": target["id"], "type": "relation", "direction": direction, "labels": [label]}
