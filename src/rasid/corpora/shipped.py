"""Build the data the project ships: NewsFANE Gold mapped into the schema, split, validated."""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from pathlib import Path

from rasid.articles import write_articles
from rasid.corpora.readers import PROJECT_ROOT, read_fane, shared_data_root
from rasid.errors import RasidDataError
from rasid.io import atomic_write
from rasid.schema import load_schema
from rasid.splits import DEFAULT_FRACTIONS, split_articles, write_split_file
from rasid.validate import validate_file

__all__ = ["NEWSFANE_META", "build_newsfane"]

log = logging.getLogger(__name__)

NEWSFANE_META = {
    "source": "NewsFANE Gold 2014",
    "license": "CC BY-SA 3.0",
    "attribution": "F. Alotaibi and M. Lee, A Hybrid Approach to Features Representation for Fine-grained "
    "Arabic Named Entity Recognition, COLING 2014; mapped into the rasid schema",
    "silver": True,
    "mapping": "configs/mappings/newsfane.yaml",
}
SPLIT_SEED = "newsfane"


def build_newsfane(
    out_dir: str | Path = PROJECT_ROOT / "data" / "newsfane",
    source: str | Path | None = None,
    mapping: str | Path = PROJECT_ROOT / "configs" / "mappings" / "newsfane.yaml",
) -> dict:
    """Write {train,dev,test}.jsonl, splits.json, stats.json and LICENSE; returns the stats.

    Raises RasidDataError when a written file does not validate against the default schema.
    """
    out_dir = Path(out_dir)
    source = Path(source) if source else shared_data_root() / "ner" / "fane" / "NewsFANE_Gold_2014_170K.txt"
    articles, stats = read_fane(source, mapping=mapping, meta=NEWSFANE_META)
    splits = split_articles(articles, DEFAULT_FRACTIONS, seed=SPLIT_SEED)
    schema = load_schema()
    summary: dict = {"source": str(source.name), "read": stats.to_dict(), "splits": {}}
    summary["read"]["clitic_examples"] = dict(stats.clitic_examples.most_common())
    for name, arts in splits.items():
        path = out_dir / f"{name}.jsonl"
        write_articles(path, arts)
        problems = validate_file(path, schema)
        if problems:
            raise RasidDataError(f"{len(problems)} problems, first: {problems[0]}", path=str(path))
        labels = Counter(e.label for a in arts for e in a.entities)
        summary["splits"][name] = {
            "articles": len(arts),
            "sentences": sum(a.text.count("\n") + 1 for a in arts),
            "tokens": sum(len(a.text.split()) for a in arts),
            "entities": {label: labels[label] for label in schema.entity_labels},
        }
    write_split_file(out_dir / "splits.json", splits)
    with atomic_write(out_dir / "stats.json") as handle:
        json.dump(summary, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    licence = source.parent / "License.txt"
    if licence.exists():
        shutil.copyfile(licence, out_dir / "LICENSE")
    for path in out_dir.iterdir():  # atomic_write's temp files are private (0600); these are shipped
        path.chmod(0o644)
    log.info("NewsFANE → %s: %s", out_dir, {k: v["articles"] for k, v in summary["splits"].items()})
    return summary
