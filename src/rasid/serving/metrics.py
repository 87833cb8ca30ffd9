"""Prometheus metrics of the server, in a registry of its own (several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["ServeMetrics"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ServeMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("rasid_http_requests_total", "HTTP requests answered", ["method", "path", "status"], registry=r)
        self.latency = Histogram("rasid_http_request_duration_seconds", "Time to answer a request", ["method", "path"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.articles = Counter("rasid_articles_total", "Articles extracted", ["endpoint"], registry=r)
        self.characters = Counter("rasid_characters_total", "Characters of article text extracted", registry=r)
        self.entities = Counter("rasid_entities_total", "Entities predicted", ["label"], registry=r)
        self.relations = Counter("rasid_relations_total", "Relations predicted", ["label"], registry=r)
        self.inference = Histogram("rasid_inference_duration_seconds", "Model time per request (in the worker thread)",
                                   buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("rasid_inference_in_flight", "Requests running or waiting for an inference worker", registry=r)
        self.model = Gauge("rasid_model_info", "The served model (value 1)", ["model_version", "backend", "variant"], registry=r)

    def observe_articles(self, endpoint: str, records: list[dict]) -> None:
        self.articles.labels(endpoint).inc(len(records))
        for rec in records:
            self.characters.inc(len(rec.get("text", "")))
            for e in rec.get("entities", []):
                self.entities.labels(e["label"]).inc()
            for r in rec.get("relations", []):
                self.relations.labels(r["label"]).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
