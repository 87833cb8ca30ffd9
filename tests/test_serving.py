"""The HTTP server for real: uvicorn in a subprocess on 127.0.0.1, real requests with httpx."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from bundle_support import BLOCK_TRAINING, ROOT, env, tiny_bundle
from rasid.serving.labelstudio_backend import text_key
from rasid.serving.limits import ServeLimits

MAX_TEXT = 20_000
MAX_BATCH = 16
MAX_BODY = 1_000_000


# --- fast: limits and protocol helpers ----------------------------------------------------

def test_limits_come_from_the_environment():
    limits = ServeLimits.from_env({"RASID_SERVE_MAX_BATCH": "3", "RASID_SERVE_TIMEOUT_S": "2.5"}, workers=4)
    assert (limits.max_batch, limits.timeout_s, limits.workers) == (3, 2.5, 4)
    assert ServeLimits.from_env({}).max_body_bytes == ServeLimits().max_body_bytes
    from rasid.errors import RasidConfigError

    with pytest.raises(RasidConfigError, match="RASID_SERVE_MAX_BATCH"):
        ServeLimits.from_env({"RASID_SERVE_MAX_BATCH": "many"})
    with pytest.raises(RasidConfigError, match="positive"):
        ServeLimits(workers=0)


def test_label_studio_text_key_follows_the_labeling_config():
    from rasid.labelstudio.config import labeling_config
    from rasid.schema import load_schema

    assert text_key(labeling_config(load_schema())) == "text"
    assert text_key('<View><Text name="t" value="$body"/></View>') == "body"
    assert text_key(None) == "text" and text_key("<View") == "text"


# --- servers --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    return tiny_bundle(tmp_path_factory.getbasetemp() / "rasid-tiny")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, bundle: Path, log: Path, preamble: str = "", **limits):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        e = env()
        e.update({f"RASID_SERVE_{k.upper()}": str(v) for k, v in limits.items()})
        code = preamble + ("import sys\nfrom rasid.cli import main\n"
                           f"sys.exit(main(['serve', '--model', {str(bundle)!r}, '--port', '{self.port}']))\n")
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=e, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"server not ready in 90 s:\n{log.read_text()[-3000:]}")

    def stop(self) -> bool:
        """SIGTERM; True when uvicorn shut down gracefully (it re-raises the signal after, so -15 is fine)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in self.log.read_text()


@pytest.fixture(scope="module")
def server(tiny, tmp_path_factory):
    srv = Server(tiny["bundle"], tmp_path_factory.mktemp("srv") / "server.log", max_text_chars=MAX_TEXT, max_batch=MAX_BATCH,
                 max_body_bytes=MAX_BODY, workers=2)
    yield srv
    assert srv.stop()


# long articles without names: heavy for the encoder, light for relations (no pairs to classify)
CALM = "وصلت قافلة جديدة إلى المدينة وسط هدوء حذر .\n"


@pytest.fixture(scope="module")
def texts(tiny) -> list[str]:
    return [json.loads(line)["text"] for line in tiny["train"].read_text(encoding="utf-8").splitlines()[:20]]


def _check_record(rec: dict, text: str) -> None:
    assert rec["text"] == text
    ids = {e["id"] for e in rec["entities"]}
    for e in rec["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]
    for r in rec["relations"]:
        assert r["head"] in ids and r["tail"] in ids


@pytest.mark.slow
def test_extract_one_article(server, texts):
    r = httpx.post(server.url + "/v1/extract", json={"id": "a1", "text": texts[0], "meta": {"source": "x"}}, timeout=30)
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["id"] == "a1" and rec["meta"] == {"source": "x"} and set(rec) == {"id", "text", "entities", "relations", "meta"}
    _check_record(rec, texts[0])


@pytest.mark.slow
def test_extract_a_batch(server, texts):
    r = httpx.post(server.url + "/v1/extract", json={"articles": [{"text": t} for t in texts[:MAX_BATCH]]}, timeout=60)
    assert r.status_code == 200, r.text
    records = r.json()["articles"]
    assert [rec["id"] for rec in records] == [str(i) for i in range(MAX_BATCH)]
    for rec, text in zip(records, texts, strict=False):
        _check_record(rec, text)
    assert sum(len(rec["entities"]) for rec in records) > 0


@pytest.mark.slow
@pytest.mark.parametrize("text", ["", "Reuters reported clashes near the border.", "١٢٣ 😀", "   \n  "])
def test_empty_and_non_arabic_text_is_fine(server, text):
    r = httpx.post(server.url + "/v1/extract", json={"text": text}, timeout=30)
    assert r.status_code == 200, r.text
    _check_record(r.json(), text)
    if not text.strip():
        assert r.json()["entities"] == []


@pytest.mark.slow
def test_malformed_json_is_400(server):
    r = httpx.post(server.url + "/v1/extract", content=b'{"text": "abc"', headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "malformed_json"


@pytest.mark.slow
@pytest.mark.parametrize("body", [{"txt": "no text field"}, {"text": 5}, {"articles": "x"}, [1, 2]])
def test_invalid_requests_are_422(server, body):
    r = httpx.post(server.url + "/v1/extract", json=body, timeout=10)
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"


@pytest.mark.slow
def test_oversized_body_is_413(server):
    big = json.dumps({"text": "ا" * (MAX_BODY // 2 + 10)}).encode()  # two bytes a letter in UTF-8
    r = httpx.post(server.url + "/v1/extract", content=big, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(30):
            yield b" " * 50_000

    r = httpx.post(server.url + "/v1/extract", content=chunks(), headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413


@pytest.mark.slow
def test_too_long_text_and_too_large_batch_are_422(server):
    r = httpx.post(server.url + "/v1/extract", json={"text": "حمص " * (MAX_TEXT // 4 + 1)}, timeout=30)
    assert r.status_code == 422 and r.json()["error"] == "text_too_long"
    r = httpx.post(server.url + "/v1/extract", json={"articles": [{"text": "x"}] * (MAX_BATCH + 1)}, timeout=30)
    assert r.status_code == 422 and r.json()["error"] == "batch_too_large"


@pytest.mark.slow
def test_fifty_concurrent_requests_are_all_answered(server, texts):
    async def go():
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client:
            sent = [f"{texts[i % len(texts)]} {i}" for i in range(50)]
            responses = await asyncio.gather(*(client.post("/v1/extract", json={"id": str(i), "text": t}) for i, t in enumerate(sent)))
            return sent, responses

    sent, responses = asyncio.run(go())
    assert [r.status_code for r in responses] == [200] * 50
    for i, (text, r) in enumerate(zip(sent, responses, strict=True)):
        assert r.json()["id"] == str(i)
        _check_record(r.json(), text)


@pytest.mark.slow
def test_inference_does_not_block_the_event_loop(server, texts):
    heavy = {"articles": [{"text": CALM * 150} for i in range(MAX_BATCH)]}
    result = {}

    def post_heavy():
        t = time.perf_counter()
        result["status"] = httpx.post(server.url + "/v1/extract", json=heavy, timeout=120).status_code
        result["seconds"] = time.perf_counter() - t

    worker = threading.Thread(target=post_heavy)
    worker.start()
    time.sleep(0.15)
    t = time.perf_counter()
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
    health_s = time.perf_counter() - t
    worker.join()
    assert result["status"] == 200
    assert health_s < result["seconds"] / 2, (health_s, result["seconds"])


@pytest.mark.slow
def test_metrics_count_requests_latency_and_articles(server):
    httpx.post(server.url + "/v1/extract", json={"articles": [{"text": "في حمص"}, {"text": "في حلب"}]}, timeout=30)
    body = httpx.get(server.url + "/metrics", timeout=10).text
    assert 'rasid_http_requests_total{method="POST",path="/v1/extract",status="200"}' in body
    assert "rasid_http_request_duration_seconds_bucket" in body
    articles = [line for line in body.splitlines() if line.startswith('rasid_articles_total{endpoint="extract"}')]
    assert articles and float(articles[0].split()[-1]) >= 2
    assert "rasid_model_info" in body


@pytest.mark.slow
def test_schema_health_and_docs(server):
    schema = httpx.get(server.url + "/v1/schema", timeout=10).json()
    assert "LOC" in schema["entity_labels"] and "CONTROLS" in schema["relation_labels"] and schema["backend"] == "onnx"
    assert httpx.get(server.url + "/healthz", timeout=10).json() == {"status": "ok"}
    assert httpx.get(server.url + "/readyz", timeout=10).json()["model_version"] == schema["model_version"]
    spec = httpx.get(server.url + "/openapi.json", timeout=10).json()
    assert {"/v1/extract", "/v1/schema", "/predict", "/setup", "/health"} <= set(spec["paths"])
    assert httpx.get(server.url + "/docs", timeout=10).status_code == 200


@pytest.mark.slow
def test_label_studio_ml_backend_protocol(server, texts):
    from rasid.labelstudio.config import labeling_config
    from rasid.schema import load_schema

    health = httpx.get(server.url + "/health", timeout=10).json()
    assert health["status"] == "UP"
    config = labeling_config(load_schema())
    setup = httpx.post(server.url + "/setup", json={"project": "1.1", "schema": config}, timeout=10)
    assert setup.status_code == 200 and setup.json()["model_version"] == health["model_version"]
    narrow = '<View><Labels name="label" toName="text"><Label value="LOC"/></Labels><Text name="text" value="$text"/></View>'
    assert httpx.post(server.url + "/setup", json={"project": "2", "schema": narrow}, timeout=10).status_code == 422

    tasks = [{"id": 10 + i, "data": {"text": t}} for i, t in enumerate(texts[:6])]
    r = httpx.post(server.url + "/predict", json={"tasks": tasks, "label_config": config, "project": "1.1", "params": {}}, timeout=60)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert len(results) == len(tasks)
    regions = 0
    for res, task in zip(results, tasks, strict=True):
        assert set(res) == {"result", "score", "model_version"}
        ids = set()
        for item in res["result"]:
            if item["type"] == "labels":
                regions += 1
                ids.add(item["id"])
                assert (item["from_name"], item["to_name"]) == ("label", "text")
                v = item["value"]
                assert task["data"]["text"][v["start"] : v["end"]] == v["text"] and len(v["labels"]) == 1
            else:
                assert item["type"] == "relation" and item["from_id"] in ids and item["to_id"] in ids
    assert regions > 0
    assert httpx.post(server.url + "/predict", json={"tasks": [{"data": {}}]}, timeout=10).status_code == 422


@pytest.mark.slow
def test_slow_inference_is_408(tiny, tmp_path, texts):
    srv = Server(tiny["bundle"], tmp_path / "server.log", timeout_s=0.02, max_text_chars=1_000_000, max_batch=64)
    try:
        heavy = {"articles": [{"text": CALM * 150} for _ in range(20)]}
        r = httpx.post(srv.url + "/v1/extract", json=heavy, timeout=60)
        assert r.status_code == 408 and r.json()["error"] == "timeout"
        assert httpx.get(srv.url + "/healthz", timeout=10).status_code == 200
    finally:
        assert srv.stop()


@pytest.mark.slow
def test_served_without_the_training_code_and_shut_down_gracefully(tiny, tmp_path, texts):
    srv = Server(tiny["bundle"], tmp_path / "server.log", preamble=BLOCK_TRAINING)
    try:
        r = httpx.post(srv.url + "/v1/extract", json={"text": texts[0]}, timeout=30)
        assert r.status_code == 200
        _check_record(r.json(), texts[0])
        # SIGTERM while a long request runs: it is answered, then the server exits cleanly
        heavy = {"articles": [{"text": CALM * 100} for _ in range(16)]}
        result = {}
        worker = threading.Thread(target=lambda: result.update(r=httpx.post(srv.url + "/v1/extract", json=heavy, timeout=120)))
        worker.start()
        time.sleep(0.3)
        os.kill(srv.proc.pid, signal.SIGTERM)
        worker.join()
        assert result["r"].status_code == 200 and len(result["r"].json()["articles"]) == 16
        assert srv.proc.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in srv.log.read_text()
    finally:
        srv.stop()
    assert "blocked" not in srv.log.read_text()
