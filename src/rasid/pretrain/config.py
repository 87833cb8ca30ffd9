"""`configs/pretrain.yaml` / `configs/distil.yaml`: what `make pretrain` / `make distil` run. Any key of a section can be overridden: --training.max_minutes 30."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rasid.config import SavedConfig, _read_yaml, apply_overrides
from rasid.errors import RasidConfigError


@dataclass
class CorpusConfig:
    corpora: str = "corpora"  # raw news under the shared data folder ($RASID_SHARED_DATA, default ../shared/data)
    # never pretrain on text the encoder is later scored on
    exclude: list[str] = field(default_factory=lambda: ["data/gold/dev.jsonl", "data/gold/test.jsonl"])
    exclude_anercorp: str | None = "ner/anercorp/ANERCorp_CamelLab_test.txt"
    shingle_words: int = 8  # an article sharing any run of this many words with an excluded text is dropped
    out: str = "runs/pretrain/corpus"
    workers: int = 2


@dataclass
class PretrainTraining:
    seq_len: int = 128  # pieces per block, <s> and </s> included
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_steps: int = 200
    grad_clip: float = 1.0
    mask_prob: float = 0.15  # share of words masked (all their pieces)
    max_steps: int | None = None  # None: as many as fit in max_minutes, measured on the first steps
    max_minutes: float = 110.0
    eval_every: int = 200
    eval_blocks: int = 256
    checkpoint_minutes: float = 5.0
    seed: int = 13
    num_threads: int | None = None
    bf16: bool = True  # autocast on a GPU only; CPU runs stay fp32


@dataclass
class DistilSettings:
    # set: instead of masked-LM, distil `encoder` into a student with this many of its layers
    layers: int | None = None


@dataclass
class PretrainConfig(SavedConfig):
    encoder: str = "e5-small-ar"
    name: str = "rasid-ar"  # the adapted encoder's name
    output: str = "runs/pretrain/rasid-ar"
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    training: PretrainTraining = field(default_factory=PretrainTraining)
    distil: DistilSettings = field(default_factory=DistilSettings)


def load_pretrain_config(path: str | Path | None = None, overrides: dict[str, str] | None = None) -> PretrainConfig:
    d = _read_yaml(Path(path)) if path else {}
    defaults = PretrainConfig().to_dict()
    d = apply_overrides(d, overrides or {}, defaults)
    unknown = set(d) - set(defaults)
    if unknown:
        raise RasidConfigError(f"{path}: unknown config keys {sorted(unknown)}")
    try:
        return PretrainConfig(
            encoder=d.get("encoder", defaults["encoder"]),
            name=d.get("name", defaults["name"]),
            output=d.get("output", defaults["output"]),
            corpus=CorpusConfig(**d.get("corpus", {})),
            training=PretrainTraining(**d.get("training", {})),
            distil=DistilSettings(**d.get("distil", {})),
        )
    except TypeError as exc:
        raise RasidConfigError(f"{path}: {exc}") from None
