"""Serving a bundle: the HTTP API (FastAPI), its limits and metrics, and the Label Studio ML backend.

Needs only the `serve` extra (onnxruntime, tokenizers, fastapi, uvicorn, prometheus-client).
"""
