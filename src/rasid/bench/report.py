"""The benchmark's outputs: bench.json (everything), bench.md (the tables) and PNG plots."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from rasid.io import atomic_write

log = logging.getLogger(__name__)

__all__ = ["PLOTS", "write_report", "markdown", "plot_all"]

PLOTS = ("quality.png", "training_speed.png", "inference.png", "scaling.png")


def _f(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _x(v) -> str:
    return "–" if v is None else f"{v:.2f}×"


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _met(value, goal: float, higher: bool = True) -> str:
    if value is None:
        return "–"
    return "yes" if (value >= goal if higher else value <= goal) else "**no**"


def markdown(r: dict) -> str:
    from rasid.bench.speed import BATCH_MAX, MAX_LENGTH, RASID

    m, d, q, tr = r["machine"], r["data"], r["quality"], r["training"]
    sp, inf, http, sc = r["training_speed"], r["inference"], r["http"], r["scaling"]
    cfg = r["config"]["training"]
    e2e = sp["end_to_end"]
    int8 = inf["backends"]["onnx_int8"]
    lines = [
        f"# rasid benchmarks ({r['bench']})", "",
        f"Run {r['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, no GPU; torch {m['versions']['torch']} "
        f"({m['torch_threads']} threads), onnxruntime {m['versions']['onnxruntime']}. Load average {m['load_average_at_start']} at the "
        f"start, {m.get('load_average_at_end')} at the end (a shared machine: ratios come from interleaved runs in one process). "
        f"Wall time {r['seconds_total'] / 60:.1f} min (budget {r['config']['budget_minutes']:.0f} min"
        f"{'' if r['within_budget'] else ', **over budget**'}).", "",
        f"Encoder: **{r['encoder']['name']}** ({r['encoder']['source']}). Data: ANERCorp {d['split']}; "
        f"**subset**: {d['subset_rule']} → {d['train']['articles']} of {d['train']['pool_articles']} pseudo-articles "
        f"({d['train']['sentences']} sentences, {d['train']['chars']:,} characters); dev {d['dev']['articles']} pseudo-articles; "
        f"test: {d['test']['articles']} pseudo-articles ({d['test']['sentences']} sentences, {d['test']['entities']} entities). "
        f"Both trainings: {cfg['epochs']} epochs, lr {cfg['lr']:g} (head {cfg['head_lr']:g}), batch {cfg['batch_size']}, "
        f"max_length {cfg['max_length']}, warm-up {cfg['warmup_ratio']:g}, weight decay {cfg['weight_decay']:g}, clip {cfg['grad_clip']:g}, "
        f"seed {cfg['seed']}, word embeddings {'frozen' if cfg['freeze_word_embeddings'] else 'trained'}, best dev epoch kept.", "",
        "## Summary", "",
    ]
    loop_rows = []
    for data, section in sp["data"].items():
        for name in (BATCH_MAX, MAX_LENGTH):
            ratio = section["ratios"][name]["tokens_per_second_ratio"]
            loop_rows.append([f"Training loop tokens/s on {data} ({section['examples']} examples)", _f(section["loops"][RASID]["tokens_per_second"], 1),
                              f"{_f(section['loops'][name]['tokens_per_second'], 1)} ({name.split('(')[1].rstrip(')')})", _x(ratio), "≥ 1.30×",
                              _met(ratio, 1.3)])
    best_http = max(http["levels"], key=lambda x: x["requests_per_second"] or 0)
    rows = [
        ["Entity F1, ANERCorp test (seqeval strict, words)", _f(q["rasid"]["micro"]["f1"]), f"{_f(q['baseline']['micro']['f1'])} (run_ner.py recipe)",
         _x(q["f1_ratio"]), "≥ 1.00×", _met(q["f1_ratio"], 1.0)],
        ["Training throughput, corpus characters/s (the two quality runs)", _f(e2e["rasid"]["corpus_chars_per_second"], 1),
         _f(e2e["baseline"]["corpus_chars_per_second"], 1), _x(e2e["corpus_chars_per_second_ratio"]), "≥ 1.30×",
         _met(e2e["corpus_chars_per_second_ratio"], 1.3)],
        *loop_rows,
        ["Training peak RSS, MB (the two quality runs; baseline ÷ rasid)", _f(e2e["rasid"]["peak_rss_mb"], 0), _f(e2e["baseline"]["peak_rss_mb"], 0),
         _x(e2e["peak_rss_ratio"]), "–", "–"],
        ["Inference articles/s, ONNX int8 vs PyTorch fp32", _f(int8["articles_per_second"], 2), _f(inf["backends"]["pytorch_fp32"]["articles_per_second"], 2),
         _x(int8["speedup_vs_pytorch"]), "≥ 2.50×", _met(int8["speedup_vs_pytorch"], 2.5)],
        ["Inference F1 points lost, ONNX int8 vs PyTorch fp32", _f(int8["f1_points_lost_vs_pytorch"], 2), "0", "–", "≤ 1.00",
         _met(int8["f1_points_lost_vs_pytorch"], 1.0, higher=False)],
        [f"HTTP throughput req/s at concurrency {best_http['concurrency']} (ONNX {http['variant']}) vs in-process",
         _f(best_http["requests_per_second"], 2), _f(http["in_process_articles_per_second"], 2), _x(best_http["throughput_ratio_vs_in_process"]), "–", "–"],
        ["Scaling 1k→100k chars: cost per character, longest ÷ shortest", f"{_f(sc['rows'][-1]['ms_per_1k_chars'], 1)} ms/1k",
         f"{_f(sc['rows'][0]['ms_per_1k_chars'], 1)} ms/1k", _x(sc["cost_per_char_ratio_longest_vs_shortest"]), "≈ 1 (linear)",
         f"R² {sc['time_fit']['r2']:.4f}, exponent {sc['time_fit']['power_law_exponent']:.2f}"],
    ]
    lines += _table(["Measure", "rasid", "baseline", "ratio", "goal", "met"], rows)
    lines += ["", "## Quality (≈ CAMeL split, fixed subset)", "",
              f"rasid: `rasid train` entity stage (character spans → clitic-aware pieces, {cfg['max_length']}-piece windows with stride "
              f"{r['config']['training']['stride']}, length-grouped batches, span decoding); predictions from {q['rasid_predictions_from']}. "
              "Baseline: a re-implementation of Hugging Face run_ner.py (sentence examples, label on the first sub-word, others -100, "
              f"truncation at max_length — {tr['baseline']['truncated_words']} training words cut —, shuffled batches padded to the batch "
              "maximum); its word tags become spans with the same lenient BIO repair rasid uses "
              f"(raw tags under seqeval strict: F1 {q['baseline']['raw_tags_strict_f1']:.3f}). Both scored by `score_articles` "
              f"({q['rasid']['scheme']}).", ""]
    qrows = [[lab, _f(v["rasid_f1"]), _f(v["baseline_f1"]), v["support"]] for lab, v in q["per_label"].items()]
    qrows.append(["**micro**", f"**{_f(q['rasid']['micro']['f1'])}**", f"**{_f(q['baseline']['micro']['f1'])}**", ""])
    qrows.append(["micro P / R", f"{_f(q['rasid']['micro']['precision'])} / {_f(q['rasid']['micro']['recall'])}",
                  f"{_f(q['baseline']['micro']['precision'])} / {_f(q['baseline']['micro']['recall'])}", ""])
    lines += _table(["label", "rasid F1", "run_ner baseline F1", "support"], qrows)
    lines += ["", f"Training: rasid best dev F1 {tr['rasid']['best_dev_f1']:.3f} (epoch {tr['rasid']['best_epoch']}), "
              f"{tr['rasid']['train_seconds']:.0f} s; baseline best dev F1 {tr['baseline']['best_dev_f1']:.3f} (epoch {tr['baseline']['best_epoch']}), "
              f"{tr['baseline']['train_seconds']:.0f} s, {tr['baseline']['steps']} steps.", ""]
    lines += ["### Published figures (not comparable)", "",
              "Other encoders (Arabic BERT-base), the full training split, GPU fine-tuning; shown for orientation only.", ""]
    lines += _table(["system", "encoder", "split", "F1", "source", "checked"],
                    [[p["system"], p["encoder"], p["split"], p["f1"], p["source"], p["checked"]] for p in r["published"]])
    lines += ["", "## Training speed and memory", "", sp["method"], ""]
    srows = []
    for data, section in sp["data"].items():
        for name, loop in section["loops"].items():
            srows.append([data, name, loop["batches"], f"{loop['padding_share']:.0%}", _f(loop["tokens_per_second"], 1),
                          " / ".join(_f(s, 1) for s in loop["seconds_all"]), _f(loop["peak_rss_mb"], 0), _f(loop["peak_rss_above_start_mb"], 0)])
    lines += _table(["data", "loop", "batches", "padding", "tokens/s (median)", "seconds per round", "peak RSS MB", "peak above start MB"], srows)
    lines += ["", f"End to end ({e2e['what']}): rasid {e2e['rasid']['tokens_per_second']:.0f} tokens/s, "
              f"{e2e['rasid']['corpus_chars_per_second']:.0f} corpus chars/s, peak RSS {e2e['rasid']['peak_rss_mb']:.0f} MB; baseline "
              f"{e2e['baseline']['tokens_per_second']:.0f} tokens/s, {e2e['baseline']['corpus_chars_per_second']:.0f} corpus chars/s, peak RSS "
              f"{e2e['baseline']['peak_rss_mb']:.0f} MB. (Tokens differ between the two: rasid's windows overlap and its pieces are "
              "clitic-aware, so corpus characters per second is the like-for-like rate.)", ""]
    lines += ["## Inference on CPU (one bundle)", "", f"{inf['method']}; {inf['test_articles']} test articles, {inf['test_chars']:,} characters.", ""]
    irows = [[name, _f(b["articles_per_second"], 2), _f(b["chars_per_second"], 0), _f(b["latency_p50_ms"], 0), _f(b["latency_p95_ms"], 0),
              _x(b["speedup_vs_pytorch"]), _f(b["entity_f1"]), _f(b["f1_points_lost_vs_pytorch"], 2)] for name, b in inf["backends"].items()]
    lines += _table(["backend", "articles/s", "chars/s", "p50 ms", "p95 ms", "× PyTorch", "entity F1", "F1 points lost"], irows)
    lines += ["", f"HTTP ({http['method']} ONNX {http['variant']}, server ready in {http['server_start_s']} s):", ""]
    hrows = [[lv["concurrency"], lv["requests"], lv["errors"], _f(lv["requests_per_second"], 2), _f(lv["latency_p50_ms"], 0),
              _f(lv["latency_p95_ms"], 0), _x(lv["throughput_ratio_vs_lowest_concurrency"]), _x(lv["throughput_ratio_vs_in_process"])]
             for lv in http["levels"]]
    lines += _table(["concurrency", "requests", "errors", "req/s", "p50 ms", "p95 ms", "× lowest concurrency", "× in-process"], hrows)
    lines += ["", "## Scaling with article length", "", f"{sc['method']} Backend: {sc['backend']}.", ""]
    lines += _table(["characters", "seconds", "ms per 1k chars", "peak RSS above idle MB", "entities"],
                    [[f"{row['chars']:,}", _f(row["seconds"], 3), _f(row["ms_per_1k_chars"], 1), _f(row["peak_above_idle_mb"], 1), row["entities"]]
                     for row in sc["rows"]])
    tf, mf = sc["time_fit"], sc["memory_fit"]
    lines += ["", f"Time: linear fit R² {tf['r2']:.4f}, {tf['ms_per_1k_chars']:.1f} ms per 1,000 characters (intercept {tf['intercept_ms']:.0f} ms), "
              f"power-law exponent {tf['power_law_exponent']:.2f}. Memory: R² {mf['r2']:.3f}, {mf['mb_per_1k_chars']:.3f} MB per 1,000 characters "
              f"(intercept {mf['intercept_mb']:.1f} MB).", ""]
    lines += ["## Every ratio", ""]
    lines += _table(["ratio", "value"], [[k, _f(v)] for k, v in r["ratios"].items()])
    lines += ["", "Stage times (s): " + ", ".join(f"{k} {v}" for k, v in r["stage_seconds"].items()) + ".", ""]
    return "\n".join(lines)


def plot_all(r: dict, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from rasid.bench.speed import RASID

    paths = []
    q = r["quality"]
    labels = list(q["per_label"]) + ["micro"]
    ours = [q["per_label"][k]["rasid_f1"] for k in q["per_label"]] + [q["rasid"]["micro"]["f1"]]
    base = [q["per_label"][k]["baseline_f1"] for k in q["per_label"]] + [q["baseline"]["micro"]["f1"]]
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(x - 0.2, ours, 0.4, label="rasid")
    ax.bar(x + 0.2, base, 0.4, label="run_ner.py baseline")
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1 (seqeval strict, words)")
    ax.set_title(f"ANERCorp ≈ CAMeL split, subset; ratio {q['f1_ratio']}")
    ax.legend()
    paths.append(_save(fig, out_dir / "quality.png"))

    sp = r["training_speed"]["data"]
    fig, axes = plt.subplots(1, max(1, len(sp)), figsize=(6 * max(1, len(sp)), 4), squeeze=False)
    for ax, (data, section) in zip(axes[0], sp.items()):
        names = list(section["loops"])
        vals = [section["loops"][n]["tokens_per_second"] or 0 for n in names]
        ax.bar(range(len(names)), vals, color=["tab:blue" if n == RASID else "tab:gray" for n in names])
        ax.set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize=7)
        ax.set_ylabel("real tokens / s (median)")
        ax.set_title(f"training loop on {data}")
    paths.append(_save(fig, out_dir / "training_speed.png"))

    inf = r["inference"]["backends"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    names = list(inf)
    a1.bar(names, [inf[n]["articles_per_second"] for n in names], color="tab:blue")
    a1.set_ylabel("articles / s (one article per call)")
    a1.set_title("throughput")
    xi = np.arange(len(names))
    a2.bar(xi - 0.2, [inf[n]["latency_p50_ms"] for n in names], 0.4, label="p50")
    a2.bar(xi + 0.2, [inf[n]["latency_p95_ms"] for n in names], 0.4, label="p95")
    a2.set_xticks(xi, names)
    a2.set_ylabel("latency per article (ms)")
    a2.legend()
    paths.append(_save(fig, out_dir / "inference.png"))

    sc = r["scaling"]
    chars = [row["chars"] for row in sc["rows"]]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(chars, [row["seconds"] for row in sc["rows"]], "o", label="measured")
    line = np.array([min(chars), max(chars)])
    a1.plot(line, sc["time_fit"]["intercept_ms"] / 1000 + sc["time_fit"]["ms_per_1k_chars"] / 1e6 * line, "-",
            label=f"linear fit, R² {sc['time_fit']['r2']:.4f}")
    a1.set_xlabel("article length (characters)")
    a1.set_ylabel("seconds")
    a1.set_title(f"time ({sc['backend']})")
    a1.legend()
    a2.plot(chars, [row["peak_above_idle_mb"] for row in sc["rows"]], "o-")
    a2.set_xlabel("article length (characters)")
    a2.set_ylabel("peak RSS above idle (MB)")
    a2.set_title("memory")
    paths.append(_save(fig, out_dir / "scaling.png"))
    return paths


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def write_report(results: dict, out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "bench.json", "markdown": out_dir / "bench.md"}
    with atomic_write(paths["json"]) as handle:
        json.dump(results, handle, ensure_ascii=False, indent=1)
    with atomic_write(paths["markdown"]) as handle:
        handle.write(markdown(results))
    for p in plot_all(results, out_dir):
        paths[p.stem] = p
    log.info("bench report: %s", ", ".join(str(p) for p in paths.values()))
    return paths
