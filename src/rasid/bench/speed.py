"""Training throughput and memory of rasid's loop vs the run_ner loop on the same examples.

The examples are fixed samples of the quality run's training data, in both shapes: rasid's article
windows and run_ner's sentences. Each loop variant runs the same forward/backward/optimizer step
over the same examples; only the batching differs:

- rasid: `length_grouped_batches` + `collate_tokens` (dynamic padding), as `rasid.training.fit` does;
- run_ner, batch max: shuffled batches padded to their longest example (the Trainer's default);
- run_ner, max_length: shuffled batches padded to max_length (run_ner's --pad_to_max_length).

Variants are interleaved within each round (order rotated) so load on a shared machine hits all
of them alike; the report gives medians over rounds. Tokens are real (unpadded) pieces.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence

import torch

from rasid.bench import hf_baseline
from rasid.bench.measure import PeakRSS, median

log = logging.getLogger(__name__)

__all__ = ["RASID", "BATCH_MAX", "MAX_LENGTH", "loop_batches", "time_loops", "speed_section"]

METHOD = ("Fixed samples of the quality run's training examples, in both shapes (rasid's article windows, run_ner's sentences); "
          "every loop runs the same forward/backward/AdamW step over the same examples, only the batching differs: rasid = "
          "length_grouped_batches + collate_tokens (as rasid.training.fit), run_ner = shuffled batches padded to the batch maximum "
          "(the Trainer's default) or to max_length (--pad_to_max_length). Batches built before timing; loops interleaved, order "
          "rotated per round; medians over rounds; tokens = real (unpadded) pieces.")
RASID = "rasid (length-grouped, dynamic padding)"
BATCH_MAX = "run_ner (shuffled, padded to batch max)"
MAX_LENGTH = "run_ner (shuffled, padded to max_length)"


def loop_batches(features: Sequence[dict], batch_size: int, max_length: int, pad_id: int, seed: int) -> dict[str, list[dict]]:
    """The batches each loop would build from `features` for one epoch."""
    from rasid.ner.train import collate_tokens
    from rasid.training import length_grouped_batches

    lengths = [len(f["input_ids"]) for f in features]
    grouped = length_grouped_batches(lengths, batch_size, seed)
    shuffled = hf_baseline.shuffled_batches(len(features), batch_size, seed)
    return {
        RASID: [collate_tokens([features[i] for i in b], pad_id) for b in grouped],
        BATCH_MAX: [hf_baseline.pad_examples([features[i] for i in b], pad_id) for b in shuffled],
        MAX_LENGTH: [hf_baseline.pad_examples([features[i] for i in b], pad_id, max_length) for b in shuffled],
    }


def _run(model, optimizer, batches: list[dict], grad_clip: float) -> float:
    started = time.perf_counter()
    for batch in batches:
        loss = model(**batch).loss
        loss.backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - started


def time_loops(model, variants: dict[str, list[dict]], repeats: int, grad_clip: float = 1.0, lr: float = 1e-5) -> dict[str, dict]:
    """Tokens/s (median of `repeats` rounds) and peak RSS of each variant; the model trains as it goes."""
    model.train()
    optimizer = hf_baseline.make_optimizer(model, lr, lr, 0.01)
    first = min((b for bs in variants.values() for b in bs), key=lambda b: b["attention_mask"].numel())
    _run(model, optimizer, [first], grad_clip)  # warm-up: allocator, kernels, optimizer state
    names = list(variants)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    peaks: dict[str, list[PeakRSS]] = {n: [] for n in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            with PeakRSS() as rss:
                seconds[name].append(_run(model, optimizer, variants[name], grad_clip))
            peaks[name].append(rss)
            log.info("speed round %d: %s %.1f s", r + 1, name, seconds[name][-1])
    out = {}
    for name in names:
        real = int(sum(int(b["attention_mask"].sum()) for b in variants[name]))
        padded = int(sum(b["attention_mask"].numel() for b in variants[name]))
        sec = median(seconds[name])
        out[name] = {
            "batches": len(variants[name]), "real_tokens": real, "padded_tokens": padded, "padding_share": round(1 - real / padded, 3),
            "seconds_median": round(sec, 3), "seconds_all": [round(s, 3) for s in seconds[name]],
            "tokens_per_second": round(real / sec, 1) if sec else None,
            "peak_rss_mb": round(max(p.peak_mb for p in peaks[name]), 1),
            "peak_rss_above_start_mb": round(max(p.delta_mb for p in peaks[name]), 1),
        }
    return out


def _sample(features: Sequence[dict], n: int, seed: int) -> list[dict]:
    if n >= len(features):
        return list(features)
    return random.Random(seed).sample(list(features), n)


def _ratios(results: dict[str, dict]) -> dict:
    ours = results[RASID]
    out = {}
    for name in (BATCH_MAX, MAX_LENGTH):
        other = results[name]
        out[name] = {
            "tokens_per_second_ratio": round(ours["tokens_per_second"] / other["tokens_per_second"], 3) if other["tokens_per_second"] else None,
            "peak_rss_above_start_ratio": round(other["peak_rss_above_start_mb"] / ours["peak_rss_above_start_mb"], 3)
            if ours["peak_rss_above_start_mb"] else None,
        }
    return out


def speed_section(model, window_features: Sequence[dict], sentence_features: Sequence[dict], *, window_examples: int,
                  sentence_examples: int, repeats: int, batch_size: int, max_length: int, pad_id: int, seed: int) -> dict:
    """Both data shapes, every loop variant; ratios are rasid ÷ baseline tokens/s (> 1: rasid faster)."""
    section = {"method": METHOD, "batch_size": batch_size, "max_length": max_length,
               "repeats": repeats, "data": {}}
    for label, feats, n in (("rasid windows", window_features, window_examples), ("run_ner sentences", sentence_features, sentence_examples)):
        if n <= 0 or not feats:
            continue
        sample = _sample(feats, n, seed)
        variants = loop_batches(sample, batch_size, max_length, pad_id, seed)
        results = time_loops(model, variants, repeats)
        section["data"][label] = {"examples": len(sample), "mean_length": round(sum(len(f["input_ids"]) for f in sample) / len(sample), 1),
                                  "loops": results, "ratios": _ratios(results)}
    return section
