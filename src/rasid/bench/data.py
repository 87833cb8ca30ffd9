"""The benchmark's data: ANERCorp (≈ CAMeL split) read as rasid articles, cut into a fixed subset."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from rasid.articles import Article, write_articles
from rasid.bench.config import BenchData
from rasid.corpora.readers import read_anercorp, shared_data_root
from rasid.errors import RasidDataError

log = logging.getLogger(__name__)

__all__ = ["BenchSplits", "resolve_data_path", "load_splits", "describe_subset"]


@dataclass
class BenchSplits:
    train: list[Article]
    dev: list[Article]
    test: list[Article]
    train_pool: int  # pseudo-articles in the train file before the subset was taken
    files: dict[str, Path]

    def write(self, folder: Path) -> dict[str, Path]:
        """JSONL copies that `rasid train` reads (train.jsonl, dev.jsonl, test.jsonl)."""
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for name in ("train", "dev", "test"):
            out[name] = folder / f"{name}.jsonl"
            write_articles(out[name], getattr(self, name))
        return out


def resolve_data_path(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else shared_data_root() / p


def load_splits(cfg: BenchData) -> BenchSplits:
    """Train subset, dev and test articles; the subset is fixed by the config alone (no randomness).

    Dev is the last `dev_articles` pseudo-articles of the train file; the training subset is every
    `train_every`-th of the others (spread over the whole corpus), capped at `max_train_articles`.
    """
    files = {"train": resolve_data_path(cfg.train), "test": resolve_data_path(cfg.test)}
    for name, path in files.items():
        if not path.is_file():
            raise RasidDataError(f"{name} file not found (set RASID_SHARED_DATA to the shared data folder)", path=str(path))
    pool, _ = read_anercorp(files["train"])
    test, _ = read_anercorp(files["test"], id_prefix="anercorp-test")
    if cfg.dev_articles >= len(pool):
        raise RasidDataError(f"dev_articles={cfg.dev_articles} leaves nothing to train on ({len(pool)} articles)", path=str(files["train"]))
    dev = pool[len(pool) - cfg.dev_articles :] if cfg.dev_articles else []
    rest = pool[: len(pool) - cfg.dev_articles]
    train = rest[:: max(1, cfg.train_every)]
    if cfg.max_train_articles:
        train = train[: cfg.max_train_articles]
    if cfg.max_test_articles:
        test = test[: cfg.max_test_articles]
    log.info("bench data: %d train (of %d), %d dev, %d test articles", len(train), len(pool), len(dev), len(test))
    return BenchSplits(train, dev, test, len(pool), files)


def _sentences(articles: list[Article]) -> int:
    return sum(a.text.count("\n") + 1 for a in articles if a.text)


def describe_subset(splits: BenchSplits, cfg: BenchData) -> dict:
    """What the table says about the data: sizes, and how the subset was taken."""
    every = max(1, cfg.train_every)
    rule = f"every {every}{'th' if every > 1 else ''} pseudo-article" if every > 1 else "all pseudo-articles"
    if cfg.max_train_articles:
        rule += f", at most {cfg.max_train_articles}"
    return {
        "split": "≈ CAMeL split (train reconstructed, test as published)",
        "train_file": splits.files["train"].name,
        "test_file": splits.files["test"].name,
        "subset_rule": f"{rule} of the train file after holding out the last {cfg.dev_articles} as dev",
        "pseudo_article": "up to 10 consecutive sentences / 2,000 characters (rasid.corpora.readers.DEFAULT_GROUPING)",
        "train": {"articles": len(splits.train), "sentences": _sentences(splits.train), "chars": sum(len(a.text) for a in splits.train),
                  "entities": sum(len(a.entities) for a in splits.train), "pool_articles": splits.train_pool},
        "dev": {"articles": len(splits.dev), "sentences": _sentences(splits.dev)},
        "test": {"articles": len(splits.test), "sentences": _sentences(splits.test), "chars": sum(len(a.text) for a in splits.test),
                 "entities": sum(len(a.entities) for a in splits.test)},
    }
