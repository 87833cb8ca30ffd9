"""`rasid convert`: Label Studio exports ⇄ article JSONL, and CoNLL corpora → articles."""

from __future__ import annotations

import json
from pathlib import Path

from rasid.articles import read_articles, write_articles
from rasid.errors import RasidDataError
from rasid.io import atomic_write
from rasid.schema import load_schema

__all__ = ["convert"]

CONLL_DIALECTS = {"anercorp", "fane", "aqmar"}


def _source_format(path: Path, given: str) -> str:
    if given != "auto":
        return given
    if path.suffix == ".json":
        return "labelstudio"
    if path.suffix == ".jsonl":
        return "articles"
    raise RasidDataError("cannot tell the input format from the file name; pass --from", path=str(path))


def convert(input_path: Path, output: Path, source_format: str = "auto", schema_path: str | None = None,
            mapping: str | None = None, annotation: str = "latest") -> int:
    """Convert one file; returns how many articles (or tasks) were written."""
    fmt = _source_format(input_path, source_format)
    schema = load_schema(schema_path)
    if fmt == "labelstudio":
        from rasid.labelstudio.convert import export_to_articles, read_export

        selection = int(annotation) if annotation.isdigit() else annotation
        articles = export_to_articles(read_export(input_path), schema, annotation=selection, source_path=input_path)
        return write_articles(output, articles)
    if fmt == "articles":
        from rasid.labelstudio.convert import articles_to_tasks

        tasks = articles_to_tasks(list(read_articles(input_path)), schema)
        with atomic_write(output) as handle:
            json.dump(tasks, handle, ensure_ascii=False, indent=1)
        return len(tasks)
    if fmt in CONLL_DIALECTS:
        from rasid.corpora.readers import load_conll_corpus

        articles, _stats = load_conll_corpus(input_path, fmt, id_prefix=input_path.stem.lower(), mapping=mapping,
                                             schema=schema if mapping else None)
        return write_articles(output, articles)
    raise RasidDataError(f"unknown input format {fmt!r}", path=str(input_path))
