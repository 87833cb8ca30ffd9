"""`rasid serve --model BUNDLE`: the HTTP API over a bundle (FastAPI + uvicorn).

    POST /v1/extract   {"text": "...", "id"?: "...", "meta"?: {...}}  → one article record
                       {"articles": [{...}, ...]}                       → {"articles": [records]}
    GET  /v1/schema    labels, relations, model version
    GET  /healthz      the process is up          GET /readyz   the model is loaded (else 503)
    GET  /metrics      Prometheus                 GET /docs     OpenAPI (Swagger UI), /openapi.json
    POST /setup, /predict, GET /health            Label Studio ML backend (labelstudio_backend.py)

Records are contract.md §1 articles (offsets into the text as sent). Inference runs in a small
thread pool off the event loop, so health checks and other requests are answered while a long
article is being read; limits (ServeLimits) answer with JSON errors: 413 body too large, 422 text
too long / batch too large / invalid request, 400 malformed JSON, 408 too slow, 503 not ready or
overloaded. On SIGTERM uvicorn stops accepting, lets in-flight requests finish, then exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from rasid.articles import Article
from rasid.serving.limits import BodySizeLimit, ServeLimits
from rasid.serving.metrics import ServeMetrics

log = logging.getLogger(__name__)

__all__ = ["create_app", "serve", "ServeError"]


# --- request and response shapes (also the OpenAPI docs) ------------------------------------

class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{"id": "a1", "text": "سيطرت قوات النظام على حمص"}]})
    id: Union[str, int, None] = Field(None, description="echoed back; defaults to the article's position")
    text: str = Field(..., description="the article exactly as it should be indexed (never normalised)")
    meta: Union[dict[str, Any], None] = Field(None, description="passed through untouched")


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    articles: list[ArticleIn]


class EntityOut(BaseModel):
    id: str
    start: int = Field(..., description="code-point offset into text")
    end: int = Field(..., description="end, exclusive; text[start:end] == entity text")
    label: str
    text: str
    score: Union[float, None] = None


class RelationOut(BaseModel):
    head: str
    tail: str
    label: str
    score: Union[float, None] = None


class ArticleOut(BaseModel):
    id: str
    text: str
    entities: list[EntityOut]
    relations: list[RelationOut]
    meta: Union[dict[str, Any], None] = None


class BatchOut(BaseModel):
    articles: list[ArticleOut]


class ServeError(Exception):
    """An error answered as JSON {"error": code, "detail": message} with `status`."""

    def __init__(self, status: int, code: str, detail: Any):
        super().__init__(str(detail))
        self.status, self.code, self.detail = status, code, detail


ERROR_RESPONSES = {
    400: {"description": "malformed JSON"}, 408: {"description": "inference took longer than the time limit"},
    413: {"description": "request body too large"}, 422: {"description": "invalid request, text too long or batch too large"},
    503: {"description": "model not loaded yet, or too many requests waiting"},
}


# --- state ----------------------------------------------------------------------------------

class InferencePool:
    """A fixed number of daemon worker threads.

    Not a ThreadPoolExecutor: its threads are joined at interpreter exit, so one abandoned job
    (a request answered 408 whose inference cannot be interrupted) would hold up shutdown.
    """

    def __init__(self, workers: int):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"rasid-infer-{i}", daemon=True) for i in range(workers)]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the awaiting request
                future.set_exception(exc)

    def submit(self, fn: Callable, *args) -> Future:
        future: Future = Future()
        self._jobs.put((future, fn, args))
        return future

    def shutdown(self) -> None:
        """Stop taking work; idle workers exit, a stuck one is left to die with the process."""
        for _ in self._threads:
            self._jobs.put(None)


@dataclass
class ServerState:
    limits: ServeLimits
    metrics: ServeMetrics = field(default_factory=ServeMetrics)
    predictor: Any = None
    load_error: str | None = None
    executor: InferencePool | None = None
    waiting: int = 0

    def require_model(self):
        if self.predictor is None:
            raise ServeError(503, "not_ready", self.load_error or "the model is still loading")
        return self.predictor

    async def run(self, fn: Callable, *args, timeout: float | None = None):
        """Run `fn` on an inference worker; 503 when the queue is full, 408 past the time limit."""
        if self.waiting >= self.limits.max_queue + self.limits.workers:
            raise ServeError(503, "overloaded", f"more than {self.limits.max_queue} requests waiting; retry later")
        self.waiting += 1
        self.metrics.in_flight.inc()
        future = self.executor.submit(fn, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout or self.limits.timeout_s)
        except asyncio.TimeoutError:
            future.cancel()  # a queued job never starts; a running one finishes and is dropped
            raise ServeError(408, "timeout", f"inference took longer than {timeout or self.limits.timeout_s:g} s") from None
        finally:
            self.waiting -= 1
            self.metrics.in_flight.dec()


def _predict_records(predictor, articles: list[Article]) -> tuple[list[dict], float]:
    started = time.perf_counter()
    records = [a.to_dict() for a in predictor.predict(articles)]
    return records, time.perf_counter() - started


def check_texts(texts: list[Any], limits: ServeLimits, what: str = "article") -> None:
    if len(texts) > limits.max_batch and what == "article":
        raise ServeError(422, "batch_too_large", f"{len(texts)} articles in one request; the limit is {limits.max_batch}")
    for i, t in enumerate(texts):
        if isinstance(t, str) and len(t) > limits.max_text_chars:
            raise ServeError(422, "text_too_long", f"{what} {i}: text of {len(t)} characters; the limit is {limits.max_text_chars}")


# --- the app --------------------------------------------------------------------------------

def _error_response(status: int, code: str, detail: Any) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


def create_app(predictor=None, *, model_path: str | Path | None = None, backend: str = "auto", variant: str = "fp32",
               limits: ServeLimits | None = None) -> FastAPI:
    """The ASGI app. Pass a loaded `predictor`, or `model_path` to load the bundle in the background
    at startup (then /readyz answers 503 until it is loaded)."""
    if predictor is None and model_path is None:
        raise ValueError("create_app needs a predictor or a model_path")
    state = ServerState(limits=limits or ServeLimits.from_env(), predictor=predictor)

    def set_model(p) -> None:
        state.predictor = p
        state.metrics.model.labels(getattr(p, "model_version", "rasid"), str(getattr(p, "backend", "")),
                                   str(getattr(p, "variant", ""))).set(1)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        state.executor = InferencePool(state.limits.workers)
        loader = None
        if state.predictor is not None:
            set_model(state.predictor)
        else:
            from rasid.bundle import load_bundle

            async def load() -> None:
                try:
                    set_model(await asyncio.wrap_future(state.executor.submit(
                        lambda: load_bundle(model_path, backend=backend, variant=variant))))
                except Exception as exc:  # the server stays up and says why in /readyz
                    state.load_error = f"{type(exc).__name__}: {exc}"
                    log.error("cannot load the model: %s", state.load_error)

            loader = asyncio.create_task(load())
        try:
            yield
        finally:
            if loader is not None and not loader.done():
                loader.cancel()
            state.executor.shutdown()  # uvicorn has already let in-flight requests finish
            log.info("inference workers stopped")

    app = FastAPI(title="rasid", version=_version(), lifespan=lifespan,
                  description="Who-did-what-where extraction from Arabic news: entities and relations with offsets "
                              "into the original text (contract.md §1 article records).")
    app.state.rasid = state
    app.add_middleware(BodySizeLimit, max_bytes=state.limits.max_body_bytes)

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "other")
            state.metrics.requests.labels(request.method, path, str(status)).inc()
            state.metrics.latency.labels(request.method, path).observe(time.perf_counter() - started)

    @app.exception_handler(ServeError)
    async def on_serve_error(request: Request, exc: ServeError):
        return _error_response(exc.status, exc.code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        bad_json = [e for e in errors if e.get("type") == "json_invalid"]
        if bad_json:
            ctx = bad_json[0].get("ctx") or {}
            return _error_response(400, "malformed_json", f"the body is not valid JSON: {ctx.get('error', 'parse error')}")
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors]
        return _error_response(422, "invalid_request", detail)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return _error_response(500, "internal_error", f"{type(exc).__name__}: {exc}")

    @app.get("/healthz", tags=["ops"], summary="The process is up")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="The model is loaded", responses={503: ERROR_RESPONSES[503]})
    async def readyz():
        if state.predictor is None:
            raise ServeError(503, "not_ready", state.load_error or "the model is still loading")
        return {"status": "ready", "model_version": getattr(state.predictor, "model_version", "rasid")}

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=Response)
    async def metrics():
        return Response(state.metrics.render(), media_type=state.metrics.content_type)

    @app.get("/v1/schema", tags=["extract"], summary="Labels, relations and model version")
    async def schema():
        from rasid.bundle import describe

        return describe(state.require_model())

    @app.post("/v1/extract", tags=["extract"], summary="Entities and relations of one article or a batch",
              response_model=Union[ArticleOut, BatchOut], response_model_exclude_none=True,
              responses={k: ERROR_RESPONSES[k] for k in (400, 408, 413, 422, 503)})
    async def extract(body: Union[BatchIn, ArticleIn]):
        predictor = state.require_model()
        single = isinstance(body, ArticleIn)
        items = [body] if single else body.articles
        check_texts([a.text for a in items], state.limits)
        articles = [Article(id=str(i) if a.id is None else str(a.id), text=a.text, meta=a.meta) for i, a in enumerate(items)]
        records, seconds = await state.run(_predict_records, predictor, articles)
        state.metrics.inference.observe(seconds)
        state.metrics.observe_articles("extract", records)
        return records[0] if single else {"articles": records}

    from rasid.serving.labelstudio_backend import labelstudio_router

    app.include_router(labelstudio_router(state))
    return app


def _version() -> str:
    from rasid import __version__

    return __version__


def app_from_env() -> FastAPI:
    """For `uvicorn --factory rasid.serving.app:app_from_env`: the bundle in $RASID_MODEL."""
    import os

    from rasid.errors import RasidConfigError

    path = os.environ.get("RASID_MODEL")
    if not path:
        raise RasidConfigError("set RASID_MODEL to a bundle folder")
    return create_app(model_path=path, backend=os.environ.get("RASID_BACKEND", "auto"), variant=os.environ.get("RASID_VARIANT", "fp32"))


def serve(model: str | Path, host: str = "127.0.0.1", port: int = 8000, backend: str = "auto", variant: str | None = None,
          limits: ServeLimits | None = None) -> None:
    """Load the bundle (failing fast with a clear error), then serve it until SIGINT/SIGTERM.

    `variant` (bundles): "fp32" or "int8"; default $RASID_SERVE_VARIANT, else fp32. Limits:
    ServeLimits, default from $RASID_SERVE_* variables.
    """
    import os

    import uvicorn

    from rasid.predictor import load_predictor

    variant = variant or os.environ.get("RASID_SERVE_VARIANT", "fp32")
    limits = limits or ServeLimits.from_env()
    predictor = load_predictor(Path(model), backend=backend) if variant == "fp32" else _load_variant(model, backend, variant)
    app = create_app(predictor, limits=limits)
    log.info("serving %s on http://%s:%d (docs at /docs)", model, host, port)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=math.ceil(limits.shutdown_grace_s),
                access_log=False)


def _load_variant(model, backend: str, variant: str):
    from rasid.bundle import load_bundle

    return load_bundle(model, backend=backend, variant=variant)
