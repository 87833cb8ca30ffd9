"""Typed run configuration: one YAML file describes a run; any value can be overridden.

`rasid train --config configs/train.yaml --training.epochs 2 --model.encoder tiny`
A config may name a `base:` file and state only what differs from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rasid.errors import RasidConfigError
from rasid.io import atomic_write

__all__ = ["DataConfig", "ModelConfig", "TrainingConfig", "RelationConfig", "RunConfig", "load_config", "apply_overrides"]


@dataclass
class DataConfig:
    train: str = "data/gold/train.jsonl"  # article JSONL (or a Label Studio export .json)
    dev: str = "data/gold/dev.jsonl"  # early stopping and model selection
    test: str | None = "data/gold/test.jsonl"  # scored once at the end; None to skip
    schema: str = "configs/schema.yaml"
    extra_train: list[str] = field(default_factory=list)  # e.g. silver data added to train
    max_train_articles: int | None = None  # cap, for quick runs


@dataclass
class ModelConfig:
    encoder: str = "auto"  # auto | e5-small | camelbert-msa|mix|da|ca | tiny | scratch | a local folder
    max_length: int = 256  # subword pieces per window, special tokens included
    stride: int = 64  # pieces shared by consecutive windows of a long article
    normalize: bool = True  # Arabic normalisation inside the model input (offsets still map back)

    def __post_init__(self):
        if self.stride >= self.max_length - 2:
            raise RasidConfigError(f"model.stride ({self.stride}) must be smaller than model.max_length - 2 ({self.max_length - 2})")


@dataclass
class TrainingConfig:
    epochs: int = 4
    lr: float = 1e-4
    head_lr: float | None = None  # learning rate of the new classification head; default = lr
    batch_size: int = 16
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    grad_clip: float = 1.0
    seed: int = 13
    patience: int = 2  # epochs without a dev F1 gain before stopping
    freeze_word_embeddings: bool = True  # 96M of e5-small's 118M parameters; freezing them triples speed
    checkpoint_every: int = 200  # optimizer steps between resumable checkpoints
    max_steps: int | None = None  # stop after this many steps (smoke runs)
    num_threads: int | None = None  # torch threads; default = all cores
    dropout: float = 0.1

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise RasidConfigError("training.epochs, training.batch_size and training.lr must be positive")


@dataclass
class RelationConfig:
    enabled: bool = True
    max_distance: int = 300  # characters between the two mentions of a candidate pair
    sentence_window: int = 1  # also pair across this many neighbouring sentences
    max_partners: int | None = 16  # nearest partners kept per mention (candidates.py): on gold 95.2 % of relations stay candidates vs 95.4 % uncapped
    epochs: int = 4
    lr: float = 1e-4
    batch_size: int = 16
    # start from the encoder the entity stage fine-tuned: it already tells names from context
    init_from_entities: bool = True
    negative_ratio: float = 3.0  # no-relation pairs kept per positive pair while training
    max_length: int = 256
    threshold: float = 0.5  # below this the pair is 'no relation'


class SavedConfig:
    """For config dataclasses: the resolved values as a dict, and saved as YAML next to what they made."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        with atomic_write(path) as handle:
            yaml.safe_dump(self.to_dict(), handle, allow_unicode=True, sort_keys=False)


@dataclass
class RunConfig(SavedConfig):
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    relations: RelationConfig = field(default_factory=RelationConfig)


def _merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _read_yaml(path: Path, seen: tuple = ()) -> dict:
    if not path.exists():
        raise RasidConfigError(f"{path}: config file not found")
    if path.resolve() in seen:
        raise RasidConfigError(f"{path}: 'base' chain loops back on itself")
    with path.open(encoding="utf-8") as handle:
        d = yaml.safe_load(handle) or {}
    if not isinstance(d, dict):
        raise RasidConfigError(f"{path}: expected a mapping at the top level")
    base = d.pop("base", None)
    if base:
        d = _merge(_read_yaml((path.parent / base).resolve(), seen + (path.resolve(),)), d)
    return d


def _coerce(value: str, current: Any, key: str) -> Any:
    parsed = yaml.safe_load(value)
    if parsed is None:
        return None
    if current is None:
        if isinstance(parsed, str):
            try:
                return float(parsed)  # an unset number (head_lr: null) given as 1e-3
            except ValueError:
                return parsed
        return parsed
    if isinstance(current, bool):
        if not isinstance(parsed, bool):
            raise RasidConfigError(f"--{key} expects true or false, got {value!r}")
        return parsed
    if isinstance(current, (int, float)):
        try:
            number = float(value)  # YAML reads 1e-3 (no dot) as a string
        except ValueError:
            raise RasidConfigError(f"--{key} expects a number, got {value!r}") from None
        return int(number) if isinstance(current, int) and number.is_integer() else number
    if isinstance(current, list) and not isinstance(parsed, list):
        return [parsed]
    if isinstance(current, str):
        return str(value)
    return parsed


def apply_overrides(d: dict, overrides: dict[str, str], defaults: dict | None = None) -> dict:
    """Apply `section.key=value` overrides, refusing keys the config (`defaults`: RunConfig's) does not have."""
    defaults = defaults if defaults is not None else RunConfig().to_dict()
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        if not isinstance(defaults.get(section), dict) or key not in defaults[section]:
            sections = ", ".join(k for k, v in defaults.items() if isinstance(v, dict))
            raise RasidConfigError(f"unknown config key --{dotted} (sections: {sections})")
        d.setdefault(section, {})
        current = d[section].get(key, defaults[section][key])
        d[section][key] = _coerce(value, current, dotted)
    return d


def load_config(path: str | Path | None = None, overrides: dict[str, str] | None = None) -> RunConfig:
    d = _read_yaml(Path(path)) if path else {}
    d = apply_overrides(d, overrides or {})
    unknown = set(d) - {f.name for f in dataclasses.fields(RunConfig)}
    if unknown:
        raise RasidConfigError(f"{path}: unknown config sections {sorted(unknown)}")
    try:
        return RunConfig(
            data=DataConfig(**d.get("data", {})),
            model=ModelConfig(**d.get("model", {})),
            training=TrainingConfig(**d.get("training", {})),
            relations=RelationConfig(**d.get("relations", {})),
        )
    except TypeError as exc:
        raise RasidConfigError(f"{path}: {exc}") from None
