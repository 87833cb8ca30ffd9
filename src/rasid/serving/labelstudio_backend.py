"""Label Studio ML backend endpoints, so a project can use the served model for pre-annotations.

Label Studio's protocol (label-studio-ml-backend, `label_studio_ml/api.py`):
- `POST /setup` {project, schema: labeling config XML, ...} → {"model_version"}
- `POST /predict` {tasks: [{id, data: {text}}], label_config?, project?, params?}
  → {"results": [{"result": [regions], "score", "model_version"}, ...], "model_version"}, one per task
- `GET /health` (and `GET /`) → {"status": "UP", ...}

Regions are the ones `rasid.labelstudio.convert.articles_to_tasks` writes (from_name "label",
to_name "text", type "labels"; relations type "relation"), so accepted pre-annotations convert
back to articles without loss. Connect it in Label Studio: Settings → Model → Connect model →
http://HOST:PORT.
"""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
from typing import Any

from fastapi import APIRouter, Body

from rasid.articles import Article
from rasid.labelstudio.config import TEXT_NAME

log = logging.getLogger(__name__)

__all__ = ["labelstudio_router", "text_key"]


def text_key(label_config: str | None) -> str:
    """The task data key the labeling config's <Text> reads (value="$text" → "text")."""
    if not label_config:
        return TEXT_NAME
    try:
        root = ET.fromstring(label_config)
    except ET.ParseError:
        return TEXT_NAME
    for tag in root.iter("Text"):
        value = tag.get("value", "")
        if value.startswith("$"):
            return value[1:]
    return TEXT_NAME


def labelstudio_router(state) -> APIRouter:
    from rasid.serving.app import ServeError, check_texts

    router = APIRouter(tags=["label studio"])

    @router.get("/health", summary="Label Studio ML backend health")
    @router.get("/", include_in_schema=False)
    async def health():
        ready = state.predictor is not None
        return {"status": "UP" if ready else "LOADING", "model_class": "rasid",
                "model_version": getattr(state.predictor, "model_version", None)}

    @router.post("/setup", summary="Label Studio connects a project")
    async def setup(payload: dict[str, Any] = Body(...)):
        from rasid.labelstudio.config import config_differences

        predictor = state.require_model()
        xml = payload.get("schema") or payload.get("label_config")
        if isinstance(xml, str) and xml.strip():
            try:
                problems = config_differences(predictor.schema, xml)
            except Exception as exc:  # invalid XML
                raise ServeError(422, "bad_label_config", str(exc)) from None
            if problems:
                log.warning("Label Studio project %s differs from the model's schema: %s", payload.get("project"), "; ".join(problems))
                # labels the model would predict but the project lacks: the pre-annotations would not show
                missing = [p for p in problems if "in the schema but not in the project" in p]
                if missing:
                    raise ServeError(422, "label_config_mismatch", problems)
        return {"model_version": predictor.model_version if hasattr(predictor, "model_version") else "rasid"}

    @router.post("/predict", summary="Pre-annotations for Label Studio tasks")
    async def predict(payload: dict[str, Any] = Body(...)):
        from rasid.labelstudio.convert import articles_to_tasks

        predictor = state.require_model()
        tasks = payload.get("tasks")
        if not isinstance(tasks, list):
            raise ServeError(422, "invalid_request", "'tasks' must be a list of Label Studio tasks")
        key = text_key(payload.get("label_config"))
        texts = []
        for i, task in enumerate(tasks):
            data = task.get("data") if isinstance(task, dict) else None
            text = data.get(key) if isinstance(data, dict) else None
            if not isinstance(text, str):
                raise ServeError(422, "invalid_request", f"task {i}: no text in data.{key}")
            texts.append(text)
        check_texts(texts, state.limits, what="task")
        version = getattr(predictor, "model_version", "rasid")
        articles = [Article(id=str(t.get("id", i)), text=text) for i, (t, text) in enumerate(zip(tasks, texts, strict=True))]
        batches = max(1, math.ceil(len(articles) / state.limits.max_batch))
        predicted = await state.run(predictor.predict, articles, timeout=state.limits.timeout_s * batches)
        state.metrics.observe_articles("labelstudio", [a.to_dict() for a in predicted])
        results = []
        for task in articles_to_tasks(predicted, predictor.schema, as_predictions=True, model_version=version):
            pred = task["predictions"][0]
            results.append({"result": pred["result"], "score": pred.get("score", 0.0), "model_version": pred["model_version"]})
        return {"results": results, "model_version": version}

    return router
