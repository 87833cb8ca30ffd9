"""Public readers: ANERCorp, NewsFANE/WikiFANE and AQMAR files → `Article` records.

Two label modes: native (the source's own types, e.g. ANERCorp's PERS LOC ORG MISC for the
benchmark, checked against a schema such as configs/schemas/anercorp.yaml) or mapped into the
project schema through a mapping file (configs/mappings/*.yaml), where our span rules are
applied too (proclitics left out when safe, see `clitics`).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path

from rasid.articles import Article
from rasid.corpora.clitics import ProcliticFixer, load_gazetteer_names
from rasid.corpora.conll import CorpusStats, Sentence, group_sentences, read_sentences, sentences_to_articles, tag_spans
from rasid.corpora.mapping import LabelMapping, load_mapping
from rasid.errors import RasidDataError
from rasid.schema import Schema, load_schema

__all__ = ["shared_data_root", "load_conll_corpus", "read_anercorp", "read_fane", "read_aqmar", "DEFAULT_GROUPING"]

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
# Pseudo-articles: up to 10 consecutive sentences and about 2,000 characters — a short news
# story's size, well inside one encoder window after the model's own windowing.
DEFAULT_GROUPING = {"max_sentences": 10, "max_chars": 2000}


def shared_data_root() -> Path:
    """The read-only shared data folder (../shared/data), or $RASID_SHARED_DATA."""
    return Path(os.environ.get("RASID_SHARED_DATA") or PROJECT_ROOT.parent / "shared" / "data")


def _native_label_fn(schema: Schema | None, path: Path):
    allowed = set(schema.entity_labels) if schema else None

    def label(native: str, mention: str) -> str:
        if allowed is not None and native not in allowed:
            raise RasidDataError(f"label {native!r} (mention {mention!r}) is not in the schema {sorted(allowed)}", path=str(path))
        return native

    return label


def load_conll_corpus(
    path: str | Path,
    dialect: str,
    *,
    id_prefix: str,
    mapping: str | Path | LabelMapping | None = None,
    schema: Schema | None = None,
    fix_clitics: bool | None = None,
    gazetteer_root: str | Path | None = None,
    max_sentences: int = DEFAULT_GROUPING["max_sentences"],
    max_chars: int = DEFAULT_GROUPING["max_chars"],
    meta: dict | None = None,
    sentence_groups: list[list[Sentence]] | None = None,
) -> tuple[list[Article], CorpusStats]:
    """Read one CoNLL-style file (or pre-grouped sentences) into articles, with the stats of what changed.

    mapping None: native labels (checked against `schema` when given). With a mapping, labels
    go into the project schema (default configs/schema.yaml) and proclitics are left out of
    spans when attested (fix_clitics defaults to True then, False in native mode).
    """
    path = Path(path)
    stats = CorpusStats()
    if sentence_groups is None:
        sentences = read_sentences(path, dialect, stats)
        sentence_groups = group_sentences(sentences, max_sentences, max_chars)
    if mapping is not None:
        mapping = mapping if isinstance(mapping, LabelMapping) else load_mapping(mapping, schema or load_schema())
        label_fn = mapping.label_fn(stats)
    else:
        label_fn = _native_label_fn(schema, path)
    clitic_fn = None
    if fix_clitics if fix_clitics is not None else mapping is not None:
        resolve = mapping.resolve if isinstance(mapping, LabelMapping) else lambda native, mention: (native, "")
        vocabulary = Counter()
        for group in sentence_groups:
            for sentence in group:
                for a, b, native in tag_spans(sentence.tags):
                    mention = " ".join(sentence.tokens[a:b])
                    vocabulary[(resolve(native, mention)[0], mention)] += 1
        root = Path(gazetteer_root) if gazetteer_root else shared_data_root() / "gazetteers"
        names = load_gazetteer_names(root) if root.exists() else {}
        # gazetteer kinds per output label: places for LOC, organisations for the two
        # organisation labels; person lists are first names, too short to trust (see clitics)
        kinds = {"LOC": "LOC", "ARMED_GROUP": "ORG", "AGENCY": "ORG", "ORG": "ORG"}
        clitic_fn = ProcliticFixer(vocabulary, {label: names.get(kind, set()) for label, kind in kinds.items()})
    articles = sentences_to_articles(
        sentence_groups, id_prefix=id_prefix, label_fn=label_fn, clitic_fn=clitic_fn, meta=meta, stats=stats
    )
    log.info(
        "%s: %d sentences, %d tokens → %d articles, %d entities",
        path.name,
        stats.sentences,
        stats.tokens,
        len(articles),
        sum(stats.entities.values()),
    )
    return articles, stats


def read_anercorp(path: str | Path, *, id_prefix: str = "anercorp", mapping=None, schema: Schema | None = None, **kwargs):
    """ANERCorp (CAMeL split files, the AUB TSV, or the sentence-less HassanAzzam variant).

    Native mode is checked against configs/schemas/anercorp.yaml unless `schema` is given.
    """
    path = Path(path)
    dialect = "anercorp-stream" if "HassanAzzam" in path.name else "anercorp"
    if mapping is None and schema is None:
        schema = load_schema(PROJECT_ROOT / "configs" / "schemas" / "anercorp.yaml")
    meta = {"source": f"ANERCorp ({path.name})", **kwargs.pop("meta", {})}
    return load_conll_corpus(path, dialect, id_prefix=id_prefix, mapping=mapping, schema=schema, meta=meta, **kwargs)


def read_fane(path: str | Path, *, id_prefix: str | None = None, mapping=None, **kwargs):
    """NewsFANE / WikiFANE Gold 2014: native fine-grained types, or mapped (configs/mappings/newsfane.yaml)."""
    path = Path(path)
    prefix = id_prefix or ("wikifane" if path.name.lower().startswith("wiki") else "newsfane")
    return load_conll_corpus(path, "fane", id_prefix=prefix, mapping=mapping, **kwargs)


def read_aqmar(path: str | Path, **kwargs) -> tuple[list[Article], CorpusStats]:
    """AQMAR: one article per file (they are whole Wikipedia articles); a folder reads every *.txt.

    Native labels only (PER LOC ORG MIS0–MIS3); noisy tags are repaired and counted.
    """
    path = Path(path)
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    articles, total = [], CorpusStats()
    for file in files:
        stats = CorpusStats()
        sentences = read_sentences(file, "aqmar", stats)
        found, more = load_conll_corpus(
            file,
            "aqmar",
            id_prefix=f"aqmar-{file.stem}",
            sentence_groups=[sentences],
            meta={"source": "AQMAR", "license": "CC BY-SA 3.0"},
            **kwargs,
        )
        found[0].id = f"aqmar-{file.stem}"
        articles.extend(found)
        for name in ("sentences", "tokens", "malformed_lines", "iob_repairs"):
            setattr(total, name, getattr(total, name) + getattr(stats, name))
        total.tag_repairs.update(stats.tag_repairs)
        total.articles += 1
        total.native_entities.update(more.native_entities)
        total.entities.update(more.entities)
    return articles, total
