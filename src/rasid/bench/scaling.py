"""Time and memory against article length: long articles built by concatenating real ones.

Each length is predicted as one article (windows, merging and decoding included) by one bundle
backend. Time is fitted to a line (R², cost per 1,000 characters) and to a power law (exponent 1
= linear); memory is the peak RSS above the process's level before the series.
"""

from __future__ import annotations

import logging
import time

from rasid.articles import Article
from rasid.bench.measure import PeakRSS, current_rss_mb, linear_fit, loglog_slope, median

log = logging.getLogger(__name__)

__all__ = ["long_text", "bench_scaling"]


def long_text(sources: list[str], n_chars: int) -> str:
    """Real article texts joined by newlines, cycling, cut to at most `n_chars` at a word boundary."""
    sources = [s for s in sources if s.strip()]
    if not sources:
        raise ValueError("no source texts to build long articles from")
    parts, size, i = [], 0, 0
    while size < n_chars:
        text = sources[i % len(sources)]
        parts.append(text)
        size += len(text) + 1
        i += 1
    text = "\n".join(parts)[:n_chars]
    cut = max(text.rfind(" "), text.rfind("\n"))
    return text[:cut] if cut > n_chars // 2 else text


def bench_scaling(predictor, sources: list[str], lengths: list[int], repeats: int, label: str) -> dict:
    lengths = sorted(lengths)
    predictor.predict([Article("warm-up", long_text(sources, lengths[0]))])
    idle_mb = current_rss_mb()
    rows = []
    for n in lengths:
        text = long_text(sources, n)
        times, peaks, entities = [], [], 0
        for _ in range(repeats if n <= 10_000 else 1):
            with PeakRSS() as rss:
                started = time.perf_counter()
                out = predictor.predict([Article(f"long-{n}", text)])
                times.append(time.perf_counter() - started)
            peaks.append(rss.peak_mb)
            entities = len(out[0].entities)
        rows.append({"chars": len(text), "seconds": round(median(times), 4), "seconds_all": [round(t, 4) for t in times],
                     "ms_per_1k_chars": round(1e6 * median(times) / len(text), 2),
                     "peak_rss_mb": round(max(peaks), 1), "peak_above_idle_mb": round(max(0.0, max(peaks) - idle_mb), 1),
                     "entities": entities})
        log.info("scaling: %d chars in %.2f s", len(text), median(times))
    x = [r["chars"] for r in rows]
    time_fit = linear_fit(x, [r["seconds"] for r in rows])
    mem_fit = linear_fit(x, [r["peak_above_idle_mb"] for r in rows])
    first, last = rows[0], rows[-1]
    return {
        "method": "Test articles concatenated (newline-joined, cycling) and cut at a word boundary; each length predicted as one "
                  "article (windows, merging, decoding); median of repeats up to 10k characters; memory = peak RSS above the "
                  "level before the series.", "backend": label, "idle_rss_mb": round(idle_mb, 1), "rows": rows,
        "time_fit": {"r2": round(time_fit["r2"], 4), "ms_per_1k_chars": round(1e6 * time_fit["slope"], 2),
                     "intercept_ms": round(1000 * time_fit["intercept"], 1), "power_law_exponent": round(loglog_slope(x, [r["seconds"] for r in rows]), 3)},
        "memory_fit": {"r2": round(mem_fit["r2"], 4), "mb_per_1k_chars": round(1000 * mem_fit["slope"], 3),
                       "intercept_mb": round(mem_fit["intercept"], 1)},
        # linear: the cost per character stays flat from the shortest to the longest article
        "cost_per_char_ratio_longest_vs_shortest": round(last["ms_per_1k_chars"] / first["ms_per_1k_chars"], 3)
        if first["ms_per_1k_chars"] else None,
    }
