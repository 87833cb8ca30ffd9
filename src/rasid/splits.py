"""Deterministic article-level splits: a stable hash of the id, or a pinned split file.

The hash is SHA-256 of "seed:id" (never Python's hash(), which changes per process), so an
article lands in the same split on every machine and run, and adding articles never moves the
old ones. A split file ({"train": [ids], "dev": [...], "test": [...]}, YAML or JSON) pins gold
splits so they can be documented and kept; ids it lists override the hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from rasid.articles import Article
from rasid.errors import RasidConfigError
from rasid.io import atomic_write

__all__ = ["DEFAULT_FRACTIONS", "assign_split", "split_articles", "load_split_file", "write_split_file"]

DEFAULT_FRACTIONS = {"train": 0.8, "dev": 0.1, "test": 0.1}


def _check_fractions(fractions: Mapping[str, float]) -> None:
    if not fractions or any(not isinstance(v, (int, float)) or v < 0 for v in fractions.values()):
        raise RasidConfigError(f"split fractions must be non-negative numbers, got {dict(fractions)}")
    if abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise RasidConfigError(f"split fractions must sum to 1, got {sum(fractions.values())}")


def assign_split(article_id: str, fractions: Mapping[str, float] = DEFAULT_FRACTIONS, seed: int | str = 0) -> str:
    """The split of one article, from a stable hash of its id (same answer everywhere, always)."""
    _check_fractions(fractions)
    digest = hashlib.sha256(f"{seed}:{article_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    cumulative = 0.0
    names = list(fractions)
    for name in names:
        cumulative += fractions[name]
        if point < cumulative:
            return name
    return names[-1]


def load_split_file(path: str | Path) -> dict[str, str]:
    """id → split from a YAML/JSON file mapping each split name to a list of ids."""
    path = Path(path)
    if not path.exists():
        raise RasidConfigError(f"{path}: split file not found")
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise RasidConfigError(f"{path}: expected a mapping of split name → list of ids")
    assignment: dict[str, str] = {}
    for split, ids in data.items():
        if not isinstance(ids, list):
            raise RasidConfigError(f"{path}: split {split!r} should list ids")
        for art_id in ids:
            if str(art_id) in assignment:
                raise RasidConfigError(f"{path}: id {art_id!r} is in both {assignment[str(art_id)]!r} and {split!r}")
            assignment[str(art_id)] = str(split)
    return assignment


def write_split_file(path: str | Path, splits: Mapping[str, Iterable[Article | str]]) -> None:
    """Pin a split: write {split: [ids]} as JSON (atomically)."""
    data = {name: [a.id if isinstance(a, Article) else str(a) for a in arts] for name, arts in splits.items()}
    with atomic_write(path) as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
        handle.write("\n")


def split_articles(
    articles: Iterable[Article],
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
    seed: int | str = 0,
    fixed: str | Path | Mapping[str, str] | None = None,
) -> dict[str, list[Article]]:
    """Articles by split, input order kept. `fixed` (a split file or id → split) wins over the hash."""
    _check_fractions(fractions)
    pinned = load_split_file(fixed) if isinstance(fixed, (str, Path)) else dict(fixed or {})
    out: dict[str, list[Article]] = {name: [] for name in fractions}
    for art in articles:
        split = pinned.get(art.id) or assign_split(art.id, fractions, seed)
        out.setdefault(split, []).append(art)
    return out
