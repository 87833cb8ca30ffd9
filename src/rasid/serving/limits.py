"""Request limits of the HTTP server, with defaults and environment overrides, and the body-size guard."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields

from rasid.errors import RasidConfigError

__all__ = ["ServeLimits", "BodySizeLimit"]

ENV_PREFIX = "RASID_SERVE_"


@dataclass(frozen=True)
class ServeLimits:
    """Every limit has an environment variable: RASID_SERVE_ + the field name in capitals."""

    max_body_bytes: int = 4_000_000  # a request body above this → 413
    max_text_chars: int = 200_000  # one article's text above this → 422
    max_batch: int = 64  # articles in one /v1/extract request above this → 422
    timeout_s: float = 60.0  # inference time per request above this → 408
    workers: int = 2  # inference threads (each request runs on one; ONNX Runtime threads inside)
    max_queue: int = 256  # requests waiting for a worker above this → 503
    shutdown_grace_s: float = 30.0  # on SIGTERM: time for in-flight requests to finish

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise RasidConfigError(f"serving limit {f.name} must be positive, got {getattr(self, f.name)}")

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> ServeLimits:
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            try:
                values[f.name] = (int if f.type in ("int", int) else float)(raw)
            except ValueError:
                raise RasidConfigError(f"{ENV_PREFIX + f.name.upper()}={raw!r}: not a number") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class BodySizeLimit:
    """ASGI middleware: a body over `max_bytes` gets a 413 JSON answer before it is parsed.

    Checks Content-Length up front; a chunked body is read (at most `max_bytes`) and counted.
    """

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def _reject(self, send) -> None:
        body = json.dumps({"error": "body_too_large", "detail": f"request body over {self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        if declared is not None:
            # the server holds the body to the declared length; only the declared length needs a check
            if declared > self.max_bytes:
                return await self._reject(send)
            return await self.app(scope, receive, send)
        # chunked (no length): read it here, counting, and replay it to the app. Raising inside
        # `receive` instead would reach FastAPI's body parser, which turns any error into a 400.
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.max_bytes:
                return await self._reject(send)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
