"""Reading articles from whatever the user points at; converters stay at these edges."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rasid.articles import Article, read_articles
from rasid.errors import RasidDataError
from rasid.schema import Schema

__all__ = ["iter_articles", "load_articles"]


def iter_articles(path: str | Path, schema: Schema | None = None) -> Iterator[Article]:
    """Articles from a JSONL file, a Label Studio JSON export, or a folder of .txt files."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.txt"))
        if not files:
            raise RasidDataError("folder holds no .txt files", path=str(path))
        for f in files:
            yield Article(id=f.stem, text=f.read_text(encoding="utf-8"))
        return
    if not path.exists():
        raise RasidDataError("no such file or folder", path=str(path))
    if path.suffix == ".json":
        from rasid.labelstudio.convert import export_to_articles, read_export

        yield from export_to_articles(read_export(path), schema, source_path=str(path))
        return
    yield from read_articles(path)


def load_articles(path: str | Path, schema: Schema | None = None, limit: int | None = None) -> list[Article]:
    out = []
    for art in iter_articles(path, schema):
        out.append(art)
        if limit and len(out) >= limit:
            break
    return out
