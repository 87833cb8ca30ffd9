"""Encoders side by side, same settings, one run: `rasid compare-encoders`.

Quality (needs training; a GPU makes it minutes instead of hours): ANERCorp (≈ CAMeL split,
seqeval strict over words) through `rasid train` on the whole reconstructed train split, and the
gold corpus through configs/train.yaml (dev entity and relation F1, test too).
Cost (CPU, this machine): parameters, weight file size, training tokens/s of rasid's entity
loop and articles/s of entity tagging on the gold dev articles. Speed does not depend on what
the weights learnt, so it is measured on the encoders themselves, each under the same threads.

Rows are merged into `compare.json` as they finish, so quality and cost can run on different
machines; `compare.md` is rewritten from it each time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from rasid.config import _read_yaml
from rasid.errors import RasidConfigError
from rasid.io import atomic_write

log = logging.getLogger(__name__)

STAGES = ("anercorp", "gold", "cost")


@dataclass
class CompareConfig:
    encoders: list[str] = field(default_factory=lambda: ["scratch", "e5-small", "e5-small-ar", "rasid-ar"])
    anercorp: str = "configs/bench.yaml"  # its data and training sections; overridden below
    anercorp_train_every: int = 1  # the whole reconstructed train split (bench.yaml takes a subset)
    anercorp_epochs: int = 4
    anercorp_max_train_articles: int | None = None  # smoke runs
    anercorp_max_test_articles: int | None = None
    gold: str = "configs/train.yaml"
    gold_overrides: dict = field(default_factory=dict)  # e.g. {"training.epochs": 1} for a smoke run
    speed_threads: int = 2
    speed_articles: int = 20  # gold dev articles tagged per encoder
    speed_train_windows: int = 48
    output: str = "results/encoders"


def load_compare_config(path: str | Path) -> CompareConfig:
    d = _read_yaml(Path(path))
    known = {f.name for f in dataclasses.fields(CompareConfig)}
    if set(d) - known:
        raise RasidConfigError(f"{path}: unknown keys {sorted(set(d) - known)}")
    return CompareConfig(**d)


def _label(name: str) -> str:
    from rasid.encoders.registry import resolve_encoder

    return resolve_encoder(name).name


def _encoder_dir(name: str, texts: list[str] | None = None) -> tuple[Path, object]:
    from rasid.encoders.registry import materialize, resolve_encoder

    spec = resolve_encoder(name)
    return materialize(spec, texts), spec


def anercorp_quality(name: str, cfg: CompareConfig, work: Path) -> dict:
    from rasid.bench.config import load_bench_config
    from rasid.bench.data import load_splits
    from rasid.bench.quality import rasid_run_config
    from rasid.runner import train_run
    from rasid.scoring import evaluate_model

    bench = load_bench_config(cfg.anercorp)
    bench.data.train_every = cfg.anercorp_train_every
    bench.training.encoder = name
    bench.training.epochs = cfg.anercorp_epochs
    bench.data.max_train_articles = cfg.anercorp_max_train_articles
    bench.data.max_test_articles = cfg.anercorp_max_test_articles
    splits = load_splits(bench.data)
    files = splits.write(work / "data")
    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    metrics = train_run(rasid_run_config(bench, files), run_dir)
    report = evaluate_model(run_dir, files["test"], run_dir / "report.json", plots=False)
    return {"f1": report["entities"]["micro"]["f1"], "dev_f1": metrics["entities"]["best_dev_f1"],
            "per_label": {k: v["f1"] for k, v in report["entities"]["per_label"].items()},
            "train_articles": len(splits.train), "epochs": bench.training.epochs,
            "tokens_per_second": metrics["entities"]["tokens_per_second"], "train_seconds": metrics["entities"]["train_seconds"]}


def gold_quality(name: str, cfg: CompareConfig, work: Path) -> dict:
    from rasid.config import load_config
    from rasid.runner import train_run

    run_cfg = load_config(cfg.gold, {"model.encoder": name, **{k: str(v) for k, v in cfg.gold_overrides.items()}})
    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    m = train_run(run_cfg, run_dir)
    out = {"dev_entity_f1": m["entities"]["best_dev_f1"],
           "dev_relation_f1": m["relations"]["best_dev_f1"] if m.get("relations") else None,
           "tokens_per_second": m["entities"]["tokens_per_second"], "train_seconds": m["total_seconds"]}
    if "test" in m:
        out["test_entity_f1"] = m["test"]["entities"]["f1"]
        out["test_relation_f1"] = m["test"]["relations"]["f1"]
    return out


def cost(name: str, cfg: CompareConfig, gold_dev: Path, gold_train: Path) -> dict:
    """Parameters, stored size, CPU training tokens/s and CPU articles/s of entity tagging."""
    import numpy as np
    import torch

    from rasid.articles import read_articles
    from rasid.ner.alignment import encode_for_model
    from rasid.ner.tagger import EntityTagger, special_ids, window_examples
    from rasid.ner.train import collate_tokens

    train_texts = [a.text for a in read_articles(gold_train)]
    folder, spec = _encoder_dir(name, train_texts)
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    torch.set_num_threads(cfg.speed_threads)
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForTokenClassification.from_pretrained(str(folder), num_labels=9, dtype=torch.float32)
    weights = [p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin")]
    params = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("classifier."))
    ids = special_ids(tokenizer)

    # training: rasid's entity loop on gold train windows (labels are irrelevant to the cost)
    windows = []
    for text in train_texts:
        windows += window_examples(encode_for_model(tokenizer, text), None, 256, 64, ids)
        if len(windows) >= cfg.speed_train_windows:
            break
    windows = windows[: cfg.speed_train_windows]
    for w in windows:
        w["labels"] = [0] * len(w["input_ids"])
    model.train()
    for p in model.bert.embeddings.word_embeddings.parameters():
        p.requires_grad = False  # as rasid trains it (training.freeze_word_embeddings)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    batches = [collate_tokens(windows[i : i + 8], ids.pad) for i in range(0, len(windows), 8)]
    rates = []
    for k, batch in enumerate(batches):
        started = time.perf_counter()
        loss = model(**{key: torch.as_tensor(v) for key, v in batch.items() if key in ("input_ids", "attention_mask", "labels")}).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if k:  # the first batch warms up allocators and kernels
            rates.append(int(torch.as_tensor(batch["attention_mask"]).sum()) / (time.perf_counter() - started))
    train_tps = float(np.median(rates))

    model.eval()

    def logits(input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask)).logits.numpy()

    tagger = EntityTagger(tokenizer, {i: "O" for i in range(9)}, logits, 256, 64, ids)
    texts = [a.text for a in read_articles(gold_dev)][: cfg.speed_articles]
    tagger.tag(texts[:2])  # warm-up
    rates = []
    for _ in range(3):  # best of three passes: the least disturbed by whatever else the machine did
        started = time.perf_counter()
        for text in texts:
            tagger.tag([text])
        rates.append(len(texts) / (time.perf_counter() - started))
    articles_per_s = max(rates)
    return {"parameters": int(params), "vocab_size": len(tokenizer), "weights_mb": round(sum(p.stat().st_size for p in weights) / 1e6, 1),
            "cpu_train_tokens_per_s": round(train_tps, 1), "cpu_articles_per_s": round(articles_per_s, 2),
            "cpu_threads": cfg.speed_threads, "source": spec.origin.get("source")}


def _machine_label(machine: dict) -> str:
    gpu = machine.get("gpu")
    if gpu and not str(gpu).startswith("none"):  # rasid.bench writes "none used (CPU benchmark)"
        return gpu
    return machine.get("cpu") or "unknown machine"


def _load(path: Path) -> dict:
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"rows": {}, "machines": {}}
    # machines were once keyed by stage, so a stage re-run elsewhere hid where the other rows ran
    machines = {k: json.loads(m) if isinstance(m, str) else m for k, m in results.get("machines", {}).items()}
    results["machines"] = {(_machine_label(m) if key in STAGES else key): m for key, m in machines.items()}
    return results


def _save(path: Path, results: dict) -> None:
    with atomic_write(path) as handle:
        json.dump(results, handle, indent=1, ensure_ascii=False)
    with atomic_write(path.with_suffix(".md")) as handle:
        handle.write(markdown_table(results))


def _fmt(value, pattern: str = "{:.3f}") -> str:
    return "–" if value is None else pattern.format(value)


def markdown_table(results: dict) -> str:
    lines = ["| encoder | ANERCorp F1 (≈ CAMeL test) | gold dev entity F1 | gold dev relation F1 | parameters | weights on disk | "
             "CPU training tokens/s | CPU articles/s |", "|---|---|---|---|---|---|---|---|"]
    for label, row in results["rows"].items():
        a, g, c = row.get("anercorp", {}), row.get("gold", {}), row.get("cost", {})
        lines.append(f"| {label} | {_fmt(a.get('f1'))} | {_fmt(g.get('dev_entity_f1'))} | {_fmt(g.get('dev_relation_f1'))} | "
                     f"{_fmt(c.get('parameters') and c['parameters'] / 1e6, '{:.1f} M')} | {_fmt(c.get('weights_mb'), '{:.0f} MB')} | "
                     f"{_fmt(c.get('cpu_train_tokens_per_s'), '{:.0f}')} | {_fmt(c.get('cpu_articles_per_s'), '{:.2f}')} |")
    notes = []
    machines = results.get("machines", {})
    for stage in STAGES:  # where each stage ran, row by row: quality may come from several machines
        by_machine: dict[str, list[str]] = {}
        for label, row in results["rows"].items():
            if stage in row:
                by_machine.setdefault(row[stage].get("machine", "unknown machine"), []).append(label)
        for where, labels in by_machine.items():
            m = machines.get(where, {})
            if m and _machine_label(m) == m.get("gpu"):
                desc = m["gpu"]
            else:
                desc = f"{m['cpu']}, {m.get('cores')} cores, {m.get('torch_threads')} torch threads" if m else where
            versions = f"; torch {m.get('versions', {}).get('torch')}, python {m.get('python')}" if m else ""
            notes.append(f"- {stage} on {desc} ({', '.join(labels)}){versions}")
    for label, row in results.get("also", {}).items():
        a, g = row.get("anercorp", {}), row.get("gold", {})
        notes.append(f"- {label}: ANERCorp {_fmt(a.get('f1'))}, gold dev entity {_fmt(g.get('dev_entity_f1'))}, relation {_fmt(g.get('dev_relation_f1'))}")
    return "\n".join(lines + [""] + notes) + "\n"


def compare_encoders(cfg: CompareConfig, stages: tuple[str, ...] = STAGES, out_dir: Path | None = None) -> dict:
    import torch

    from rasid.bench.runner import machine_info

    unknown = [stage for stage in stages if stage not in STAGES]
    if unknown:  # before hours of training, not after
        raise RasidConfigError(f"unknown stage {unknown[0]!r}: {', '.join(STAGES)}")
    out = Path(out_dir or cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "compare.json"
    results = _load(path)
    machine = machine_info()
    machine["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None  # the training stages use it
    for name in cfg.encoders:
        label = _label(name)
        row = results["rows"].setdefault(label, {})
        for stage in stages:
            started = time.perf_counter()
            work = out / "work" / label / stage
            if stage == "anercorp":
                row[stage] = anercorp_quality(name, cfg, work)
            elif stage == "gold":
                row[stage] = gold_quality(name, cfg, work)
            else:
                row[stage] = cost(name, cfg, Path("data/gold/dev.jsonl"), Path("data/gold/train.jsonl"))
            row[stage]["seconds"] = round(time.perf_counter() - started, 1)
            row[stage]["machine"] = _machine_label(machine)
            results.setdefault("machines", {})[_machine_label(machine)] = machine
            _save(path, results)
            log.info("%s %s: %s", label, stage, {k: v for k, v in row[stage].items() if not isinstance(v, dict)})
    return results
