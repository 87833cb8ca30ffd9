"""The benchmark's settings: configs/bench.yaml (the full run) and configs/bench-quick.yaml (CI)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rasid.errors import RasidConfigError

__all__ = ["BenchData", "BenchTraining", "BenchSpeed", "BenchInference", "BenchScaling", "BenchConfig", "load_bench_config"]


@dataclass
class BenchData:
    # paths relative to the shared data folder (rasid.corpora.readers.shared_data_root), or absolute
    train: str = "ner/anercorp/ANERCorp_CamelLab_train.RECONSTRUCTED.txt"
    test: str = "ner/anercorp/ANERCorp_CamelLab_test.txt"
    dev_articles: int = 16  # the last N pseudo-articles of the train file: model selection, never trained on
    train_every: int = 4  # of the rest, every k-th pseudo-article (a fixed, spread-out subset)
    max_train_articles: int | None = None
    max_test_articles: int | None = None  # None: the whole CAMeL test split


@dataclass
class BenchTraining:
    """Shared by rasid and the run_ner baseline: same encoder, epochs and hyper-parameters."""

    encoder: str = "e5-small"
    epochs: int = 3
    lr: float = 3e-4
    head_lr: float | None = 1e-3
    batch_size: int = 16
    max_length: int = 256
    stride: int = 64
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    seed: int = 13
    freeze_word_embeddings: bool = True


@dataclass
class BenchSpeed:
    window_examples: int = 32  # rasid training windows timed per loop variant
    sentence_examples: int = 48  # run_ner sentence examples timed per loop variant
    repeats: int = 2  # rounds; variants interleaved in each round; medians reported


@dataclass
class BenchInference:
    max_articles: int | None = None  # test articles timed per backend (None: all)
    http_requests: int = 48  # requests per concurrency level
    http_concurrency: list[int] = field(default_factory=lambda: [1, 4])
    http_variant: str = "fp32"
    http_start_timeout_s: float = 180.0


@dataclass
class BenchScaling:
    lengths: list[int] = field(default_factory=lambda: [1000, 2000, 5000, 10000, 20000, 50000, 100000])
    repeats: int = 3  # timings per length up to 10k characters (medians); 1 above
    backend: str = "onnx"
    variant: str = "fp32"


@dataclass
class BenchConfig:
    name: str = "full"
    budget_minutes: float = 30.0  # the promise `make bench` keeps; the report flags a run over it
    data: BenchData = field(default_factory=BenchData)
    training: BenchTraining = field(default_factory=BenchTraining)
    speed: BenchSpeed = field(default_factory=BenchSpeed)
    inference: BenchInference = field(default_factory=BenchInference)
    scaling: BenchScaling = field(default_factory=BenchScaling)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_SECTIONS = {"data": BenchData, "training": BenchTraining, "speed": BenchSpeed, "inference": BenchInference, "scaling": BenchScaling}


def load_bench_config(path: str | Path) -> BenchConfig:
    path = Path(path)
    if not path.is_file():
        raise RasidConfigError(f"{path}: benchmark config not found")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise RasidConfigError(f"{path}: expected a mapping at the top level")
    known = {"name", "budget_minutes", *_SECTIONS}
    unknown = set(raw) - known
    if unknown:
        raise RasidConfigError(f"{path}: unknown keys {sorted(unknown)} (known: {sorted(known)})")
    kwargs = {k: raw[k] for k in ("name", "budget_minutes") if k in raw}
    for name, cls in _SECTIONS.items():
        section = raw.get(name) or {}
        names = {f.name for f in dataclasses.fields(cls)}
        bad = set(section) - names
        if bad:
            raise RasidConfigError(f"{path}: unknown keys in '{name}': {sorted(bad)} (known: {sorted(names)})")
        kwargs[name] = cls(**section)
    cfg = BenchConfig(**kwargs)
    if cfg.training.stride >= cfg.training.max_length - 2:
        raise RasidConfigError(f"{path}: training.stride must be smaller than training.max_length - 2")
    return cfg
