"""Small measuring tools: peak resident memory of a block, percentiles, a least-squares line."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["current_rss_mb", "PeakRSS", "percentile", "median", "linear_fit", "loglog_slope"]

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+)\s+kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def current_rss_mb() -> float:
    kb = _status_kb("VmRSS")
    if kb is None:  # not Linux: resource's peak is the best we have
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return kb / 1024


def _reset_peak() -> bool:
    """Reset the kernel's high-water mark (VmHWM) to the current RSS; False where not allowed."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _status_kb("VmHWM") is not None


class PeakRSS:
    """Peak RSS of this process inside a `with` block, in MB (`peak_mb`, `before_mb`, `delta_mb`).

    Uses the kernel's high-water mark, reset on entry, so that several phases of one process can be
    measured one after another; where that is not possible a 5 ms sampling thread stands in.
    """

    def __init__(self, interval_s: float = 0.005):
        self.interval_s = interval_s
        self.before_mb = self.peak_mb = 0.0
        self.method = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak_mb = max(self.peak_mb, current_rss_mb())

    def __enter__(self) -> PeakRSS:
        self.before_mb = current_rss_mb()
        if _reset_peak():
            self.method = "VmHWM"
        else:
            self.method = "sampled"
            self.peak_mb = self.before_mb
            self._thread = threading.Thread(target=self._sample, daemon=True, name="rasid-bench-rss")
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.peak_mb = max(self.peak_mb, current_rss_mb())
        else:
            self.peak_mb = (_status_kb("VmHWM") or 0) / 1024

    @property
    def delta_mb(self) -> float:
        return max(0.0, self.peak_mb - self.before_mb)


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def linear_fit(x: Sequence[float], y: Sequence[float]) -> dict:
    """Least squares y = intercept + slope·x, with R²."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xa) < 2 or np.ptp(xa) == 0:
        return {"slope": float("nan"), "intercept": float("nan"), "r2": float("nan")}
    slope, intercept = np.polyfit(xa, ya, 1)
    residual = ya - (intercept + slope * xa)
    total = float(((ya - ya.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else 1.0
    return {"slope": float(slope), "intercept": float(intercept), "r2": r2}


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Exponent k of y ∝ x^k (1 = linear, 2 = quadratic), from a line through the logs."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = (xa > 0) & (ya > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(xa[keep]), np.log(ya[keep]), 1)[0])
