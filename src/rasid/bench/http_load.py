"""The HTTP server under load: `uvicorn` on 127.0.0.1 in a subprocess, a bounded request loop.

The server is rasid's own app (`rasid.serving.app:app_from_env`, default limits: 2 inference
workers) over the bundle. For each concurrency level, `requests` POST /v1/extract calls (one test
article each, cycling through the test set) are shared by that many client threads.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from rasid.articles import Article
from rasid.bench.measure import percentile
from rasid.errors import RasidConfigError

log = logging.getLogger(__name__)

__all__ = ["free_port", "ServerProcess", "load_test", "bench_http"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`with ServerProcess(bundle, variant) as url:` — started, ready (GET /readyz), stopped after."""

    def __init__(self, bundle_dir: Path, variant: str, log_path: Path, start_timeout_s: float = 180.0):
        self.bundle_dir, self.variant, self.log_path, self.start_timeout_s = bundle_dir, variant, log_path, start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_s = 0.0

    def __enter__(self) -> str:
        import httpx

        env = dict(os.environ, RASID_MODEL=str(self.bundle_dir), RASID_BACKEND="onnx", RASID_VARIANT=self.variant,
                   HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "rasid.serving.app:app_from_env", "--host", "127.0.0.1",
               "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
        started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        while time.perf_counter() - started < self.start_timeout_s:
            if self.proc.poll() is not None:
                self.__exit__(None, None, None)
                raise RasidConfigError(f"the server exited with code {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2.0).status_code == 200:
                    self.startup_s = time.perf_counter() - started
                    return self.url
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.__exit__(None, None, None)
        raise RasidConfigError(f"the server was not ready within {self.start_timeout_s:.0f} s; see {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def load_test(url: str, articles: list[Article], requests: int, concurrency: int, timeout_s: float = 120.0) -> dict:
    """`requests` calls shared by `concurrency` threads; throughput, latency percentiles, errors."""
    import httpx

    lock = threading.Lock()
    counter = iter(range(requests))
    latencies: list[float] = []
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(timeout=timeout_s) as client:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                art = articles[i % len(articles)]
                started = time.perf_counter()
                try:
                    response = client.post(f"{url}/v1/extract", json={"id": art.id, "text": art.text})
                    ok = response.status_code == 200
                    detail = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, detail = False, type(exc).__name__
                elapsed = time.perf_counter() - started
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors.append(detail)

    threads = [threading.Thread(target=worker, name=f"bench-client-{k}") for k in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"concurrency": concurrency, "requests": requests, "ok": len(latencies), "errors": len(errors),
            "error_kinds": sorted(set(errors))[:5], "seconds": round(wall, 3),
            "requests_per_second": round(len(latencies) / wall, 3) if wall else None,
            "latency_p50_ms": round(1000 * percentile(latencies, 50), 1), "latency_p95_ms": round(1000 * percentile(latencies, 95), 1)}


def bench_http(bundle_dir: Path, articles: list[Article], variant: str, requests: int, levels: list[int], log_path: Path,
               in_process_articles_per_second: float | None, start_timeout_s: float = 180.0) -> dict:
    """Every concurrency level against one server; ratios vs the lowest level and vs in-process calls."""
    server = ServerProcess(bundle_dir, variant, log_path, start_timeout_s)
    with server as url:
        load_test(url, articles, min(2, requests), 1)  # warm-up
        runs = [load_test(url, articles, requests, c) for c in sorted(levels)]
    base = runs[0]
    for r in runs:
        r["throughput_ratio_vs_lowest_concurrency"] = round(r["requests_per_second"] / base["requests_per_second"], 3) \
            if base["requests_per_second"] else None
        r["throughput_ratio_vs_in_process"] = round(r["requests_per_second"] / in_process_articles_per_second, 3) \
            if in_process_articles_per_second else None
    return {"method": f"uvicorn in a subprocess on 127.0.0.1 (rasid.serving.app, default limits), {requests} POST /v1/extract "
                      "per concurrency level, one test article each, shared by that many client threads;", "variant": variant, "server_start_s": round(server.startup_s, 1),
            "levels": runs, "in_process_articles_per_second": in_process_articles_per_second}
