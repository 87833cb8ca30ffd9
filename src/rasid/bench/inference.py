"""CPU inference of one bundle: PyTorch fp32, ONNX fp32 and ONNX int8, article by article.

Each test article is sent alone (`predict([article])`, the server's unit of work) to the three
backends in turn, the order rotated per article, so that load on a shared machine falls on all of
them alike. Latency percentiles are over articles; throughput is articles / total time. The same
predictions are scored, so the F1 cost of int8 is measured on the very runs that were timed.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from rasid.articles import Article
from rasid.bench.measure import PeakRSS, percentile
from rasid.errors import RasidConfigError
from rasid.evaluation import score_articles
from rasid.schema import Schema

log = logging.getLogger(__name__)

__all__ = ["BACKENDS", "load_backends", "bench_backends", "bench_bundles", "markdown_table"]

# name → (backend, variant) of rasid.bundle.load_bundle
BACKENDS = {"pytorch_fp32": ("torch", "fp32"), "onnx_fp32": ("onnx", "fp32"), "onnx_int8": ("onnx", "int8")}


def load_backends(bundle_dir: Path, backends: list[str] | None = None, prefix: str = "") -> dict:
    from rasid.bundle import load_bundle

    out = {}
    for name in backends or list(BACKENDS):
        backend, variant = BACKENDS[name]
        with PeakRSS() as rss:
            out[prefix + name] = load_bundle(bundle_dir, backend=backend, variant=variant)
        log.info("loaded %s%s (+%.0f MB)", prefix, name, rss.delta_mb)
    return out


def bench_backends(predictors: dict, gold: list[Article], schema: Schema, baseline: str = "pytorch_fp32") -> tuple[dict, dict[str, list[Article]]]:
    """Timings and F1 per backend, and the predictions (gold order). Ratios are against `baseline`."""
    names = list(predictors)
    clean = [Article(a.id, a.text, meta=a.meta) for a in gold]
    for name in names:  # warm-up: sessions, allocators, first-call costs
        predictors[name].predict(clean[:1])
    latency: dict[str, list[float]] = {n: [] for n in names}
    preds: dict[str, list[Article]] = {n: [] for n in names}
    for i, art in enumerate(clean):
        order = names[i % len(names):] + names[: i % len(names)]
        for name in order:
            started = time.perf_counter()
            out = predictors[name].predict([art])
            latency[name].append(time.perf_counter() - started)
            preds[name].append(out[0])
    chars = sum(len(a.text) for a in clean)
    results = {}
    for name in names:
        lat = latency[name]
        report = score_articles(gold, preds[name], schema)
        results[name] = {
            "articles": len(lat), "seconds_total": round(sum(lat), 3),
            "articles_per_second": round(len(lat) / sum(lat), 3) if sum(lat) else None,
            "chars_per_second": round(chars / sum(lat), 1) if sum(lat) else None,
            "latency_p50_ms": round(1000 * percentile(lat, 50), 1), "latency_p95_ms": round(1000 * percentile(lat, 95), 1),
            "entity_f1": report["entities"]["micro"]["f1"],
        }
        if any(a.relations for a in gold):
            results[name]["relation_f1"] = report["relations"]["micro"]["f1"]
    base = results[baseline]
    for name in names:
        r = results[name]
        r["speedup_vs_pytorch"] = round(r["articles_per_second"] / base["articles_per_second"], 3)
        r["p50_ratio_vs_pytorch"] = round(base["latency_p50_ms"] / r["latency_p50_ms"], 3) if r["latency_p50_ms"] else None
        r["p95_ratio_vs_pytorch"] = round(base["latency_p95_ms"] / r["latency_p95_ms"], 3) if r["latency_p95_ms"] else None
        r["f1_points_lost_vs_pytorch"] = round(100 * (base["entity_f1"] - r["entity_f1"]), 2)
        if "relation_f1" in r:
            r["relation_f1_points_lost_vs_pytorch"] = round(100 * (base["relation_f1"] - r["relation_f1"]), 2)
    section = {
        "method": "each test article alone, backends interleaved (rotated order), after one warm-up call each",
        "test_articles": len(clean), "test_chars": chars, "baseline": baseline, "backends": results,
    }
    if "onnx_int8" in results and baseline == "pytorch_fp32":
        section["int8_goal"] = "≥ 2.5× PyTorch fp32 articles/s at ≤ 1 F1 point lost"
        section["int8_goal_met"] = bool(results["onnx_int8"]["speedup_vs_pytorch"] >= 2.5
                                        and results["onnx_int8"]["f1_points_lost_vs_pytorch"] <= 1.0)
    return section, preds


def bench_bundles(bundles: list[Path], gold: list[Article], backends: list[str] | None = None) -> dict:
    """Several bundles' backends side by side on the same articles, interleaved in one process, so
    that a 6-layer bundle's int8 is measured against a 12-layer bundle's PyTorch under the same load.
    Ratios are against the first bundle's first backend. The bundles must share a schema."""
    from rasid.bundle import read_manifest

    unknown = [b for b in backends or [] if b not in BACKENDS]
    if unknown:
        raise RasidConfigError(f"unknown backend {unknown[0]!r}: {', '.join(BACKENDS)}")
    schemas = {Path(b): read_manifest(Path(b))["schema"] for b in bundles}
    if len({json.dumps(s, sort_keys=True) for s in schemas.values()}) > 1:
        raise RasidConfigError(f"{', '.join(map(str, bundles))}: the bundles have different schemas; their F1 would not compare")
    predictors: dict = {}
    names = [Path(b).name for b in bundles]
    if len(set(names)) < len(names):
        names = [str(b) for b in bundles]
    for bundle, name in zip(bundles, names):
        predictors.update(load_backends(Path(bundle), backends, prefix=f"{name}/"))
    schema = Schema.from_dict(next(iter(schemas.values())))
    section, _ = bench_backends(predictors, gold, schema, baseline=next(iter(predictors)))
    for bundle, name in zip(bundles, names):
        onnx = Path(bundle) / "onnx"
        section.setdefault("bundles", {})[name] = {
            "path": str(bundle),
            "int8_graphs_mb": round(sum(f.stat().st_size for f in onnx.glob("*.int8.onnx")) / 1e6, 1),
            "fp32_graphs_mb": round(sum(f.stat().st_size for f in onnx.glob("*.onnx") if ".int8." not in f.name) / 1e6, 1),
        }
    return section


def markdown_table(section: dict) -> str:
    rel = any("relation_f1" in r for r in section["backends"].values())
    head = "| bundle / backend | articles/s | × baseline | p50 ms | p95 ms | entity F1 |" + (" relation F1 |" if rel else "")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, r in section["backends"].items():
        line = (f"| {name} | {r['articles_per_second']:.2f} | {r['speedup_vs_pytorch']:.2f}× | {r['latency_p50_ms']:.0f} | "
                f"{r['latency_p95_ms']:.0f} | {r['entity_f1']:.3f} |")
        if rel:
            line += f" {r.get('relation_f1', float('nan')):.3f} |"
        lines.append(line)
    return "\n".join(lines) + "\n"
