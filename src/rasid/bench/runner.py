"""`run_bench(cfg, out_dir)`: every benchmark in one process, then JSON + Markdown + PNG.

Order: data → rasid training → run_ner baseline training (+ its test predictions) → export of the
rasid run to a bundle → inference on the test split (PyTorch / ONNX fp32 / ONNX int8; the PyTorch
predictions are rasid's quality figures) → training-loop speed → HTTP server → scaling.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import platform
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from rasid.bench.config import BenchConfig

log = logging.getLogger(__name__)

__all__ = ["machine_info", "run_bench"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def machine_info() -> dict:
    import torch

    versions = {}
    for name in ("torch", "transformers", "tokenizers", "onnxruntime", "numpy", "uvicorn", "fastapi"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gb": _memory_gb(), "platform": platform.platform(),
            "python": platform.python_version(), "torch_threads": torch.get_num_threads(), "gpu": "none used (CPU benchmark)",
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()], "versions": versions}


@contextmanager
def _stage(stages: dict, name: str):
    log.info("bench: %s ...", name)
    started = time.perf_counter()
    yield
    stages[name] = round(time.perf_counter() - started, 1)
    log.info("bench: %s done in %.1f s", name, stages[name])


def _window_features(run_dir: Path, train, tags: list[str], max_length: int, stride: int) -> list[dict]:
    """rasid's training windows, built exactly as `rasid.ner.train.train_entities` builds them."""
    from transformers import AutoTokenizer

    from rasid.ner.tagger import EntityTagger, special_ids, training_features

    tokenizer = AutoTokenizer.from_pretrained(str(run_dir / "ner"))
    ids = special_ids(tokenizer)
    tagger = EntityTagger(tokenizer, dict(enumerate(tags)), None, max_length, stride, ids, normalize=True)
    encodings = [tagger.encode(a.text) for a in train]
    spans = [[(e.start, e.end, e.label) for e in a.entities] for a in train]
    return training_features(encodings, spans, {t: i for i, t in enumerate(tags)}, max_length, stride, ids)


def run_bench(cfg: BenchConfig, out_dir: Path, config_path: str | None = None) -> dict:
    """Run every benchmark of `cfg`; write bench.json, bench.md and the plots into `out_dir`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from rasid.bench import quality as q
    from rasid.bench.data import describe_subset, load_splits
    from rasid.bench.http_load import bench_http
    from rasid.bench.inference import BACKENDS, bench_backends, load_backends
    from rasid.bench.published import PUBLISHED
    from rasid.bench.report import write_report
    from rasid.bench.scaling import bench_scaling
    from rasid.bench.speed import speed_section
    from rasid.export import export_bundle

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stages: dict[str, float] = {}
    machine = machine_info()
    t = cfg.training
    schema = q.anercorp_schema()

    with _stage(stages, "data"):
        splits = load_splits(cfg.data)
        files = splits.write(out_dir / "data")
    run_dir = out_dir / "run"
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)  # a stale checkpoint would make `rasid train` resume instead of training
    with _stage(stages, "train_rasid"):
        rasid_train = q.train_rasid(cfg, files, run_dir)
    with _stage(stages, "train_baseline"):
        baseline = q.train_hf_baseline(cfg, splits.train, splits.dev, rasid_train["encoder_path"], schema)
        baseline_pred, baseline_raw = baseline.predict(splits.test)
    with _stage(stages, "export"):
        bundle_dir = export_bundle(run_dir, out_dir / "bundle", data=files["dev"], check=True)
    with _stage(stages, "inference"):
        predictors = load_backends(bundle_dir)
        inference, preds = bench_backends(predictors, splits.test, schema)
    quality = q.compare_quality(splits.test, preds["pytorch_fp32"], baseline_pred, baseline_raw, schema)
    quality["rasid_predictions_from"] = "the exported bundle's PyTorch backend (same weights and tagger as the run folder)"
    with _stage(stages, "training_speed"):
        windows = _window_features(run_dir, splits.train, schema.bio_tags, t.max_length, t.stride)
        speed = speed_section(baseline.model, windows, baseline.examples, window_examples=cfg.speed.window_examples,
                              sentence_examples=cfg.speed.sentence_examples, repeats=cfg.speed.repeats, batch_size=t.batch_size,
                              max_length=t.max_length, pad_id=baseline.pad_id, seed=t.seed)
        del baseline.model
    train_chars = sum(len(a.text) for a in splits.train) * t.epochs
    bsum = baseline.summary()
    speed["end_to_end"] = {
        "what": "the two quality trainings: each approach on its own examples of the same articles, training loop only",
        "rasid": {k: rasid_train[k] for k in ("train_seconds", "tokens_per_second", "peak_rss_mb", "peak_rss_above_start_mb")},
        "baseline": {k: bsum[k] for k in ("train_seconds", "tokens_per_second", "peak_rss_mb", "peak_rss_above_start_mb")},
    }
    e2e = speed["end_to_end"]
    for side in ("rasid", "baseline"):
        e2e[side]["corpus_chars_per_second"] = round(train_chars / e2e[side]["train_seconds"], 1) if e2e[side]["train_seconds"] else None
    e2e["corpus_chars_per_second_ratio"] = round(e2e["rasid"]["corpus_chars_per_second"] / e2e["baseline"]["corpus_chars_per_second"], 3)
    e2e["tokens_per_second_ratio"] = round(e2e["rasid"]["tokens_per_second"] / e2e["baseline"]["tokens_per_second"], 3)
    e2e["peak_rss_ratio"] = round(e2e["baseline"]["peak_rss_mb"] / e2e["rasid"]["peak_rss_mb"], 3)
    variant_key = f"onnx_{cfg.inference.http_variant}"
    with _stage(stages, "http"):
        http = bench_http(bundle_dir, splits.test, cfg.inference.http_variant, cfg.inference.http_requests, cfg.inference.http_concurrency,
                          out_dir / "server.log", inference["backends"][variant_key]["articles_per_second"],
                          cfg.inference.http_start_timeout_s)
    scale_key = {v: k for k, v in BACKENDS.items()}[(cfg.scaling.backend, cfg.scaling.variant)]
    with _stage(stages, "scaling"):
        scaling = bench_scaling(predictors[scale_key], [a.text for a in splits.test], cfg.scaling.lengths, cfg.scaling.repeats, scale_key)
    total = round(time.perf_counter() - started, 1)
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results = {
        "bench": cfg.name, "config_file": config_path, "config": cfg.to_dict(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine,
        "seconds_total": total, "stage_seconds": stages, "within_budget": total <= 60 * cfg.budget_minutes,
        "data": describe_subset(splits, cfg.data),
        "encoder": {"name": rasid_train["encoder"], "source": rasid_train["encoder_source"]},
        "training": {"rasid": {k: v for k, v in rasid_train.items() if k != "encoder_path"}, "baseline": bsum},
        "quality": quality, "training_speed": speed, "inference": inference, "http": http, "scaling": scaling,
        "published": PUBLISHED,
    }
    results["ratios"] = headline_ratios(results)
    write_report(results, out_dir)
    log.info("bench %s finished in %.1f min", cfg.name, total / 60)
    return results


def headline_ratios(r: dict) -> dict:
    """Every ratio of the run in one flat mapping (name → value), as the closing note lists them."""
    from rasid.bench.speed import BATCH_MAX, MAX_LENGTH

    out = {"quality.entity_f1 rasid/run_ner": r["quality"]["f1_ratio"]}
    e2e = r["training_speed"]["end_to_end"]
    out["training.end_to_end corpus chars/s rasid/run_ner"] = e2e["corpus_chars_per_second_ratio"]
    out["training.end_to_end tokens/s rasid/run_ner"] = e2e["tokens_per_second_ratio"]
    out["training.end_to_end peak RSS run_ner/rasid"] = e2e["peak_rss_ratio"]
    for data, section in r["training_speed"]["data"].items():
        for name, short in ((BATCH_MAX, "batch max"), (MAX_LENGTH, "max_length")):
            ratios = section["ratios"][name]
            out[f"training.loop[{data}] tokens/s rasid/run_ner({short})"] = ratios["tokens_per_second_ratio"]
            out[f"training.loop[{data}] peak RSS above start run_ner({short})/rasid"] = ratios["peak_rss_above_start_ratio"]
    for name, b in r["inference"]["backends"].items():
        if name != "pytorch_fp32":
            out[f"inference.{name} articles/s vs pytorch_fp32"] = b["speedup_vs_pytorch"]
            out[f"inference.{name} p50 latency pytorch_fp32/{name}"] = b["p50_ratio_vs_pytorch"]
            out[f"inference.{name} p95 latency pytorch_fp32/{name}"] = b["p95_ratio_vs_pytorch"]
            out[f"inference.{name} F1 points lost vs pytorch_fp32"] = b["f1_points_lost_vs_pytorch"]
    for level in r["http"]["levels"]:
        out[f"http.c{level['concurrency']} req/s vs in-process onnx_{r['http']['variant']}"] = level["throughput_ratio_vs_in_process"]
        out[f"http.c{level['concurrency']} req/s vs c{r['http']['levels'][0]['concurrency']}"] = level["throughput_ratio_vs_lowest_concurrency"]
    s = r["scaling"]
    out["scaling.cost per char longest/shortest"] = s["cost_per_char_ratio_longest_vs_shortest"]
    out["scaling.time fit R²"] = s["time_fit"]["r2"]
    out["scaling.time power-law exponent"] = s["time_fit"]["power_law_exponent"]
    return out
