"""CoNLL-style `token TAG` files → sentences → `Article` records with character offsets.

The readers are data-driven by a `Dialect` (separator, what ends a sentence, marks to strip,
tag repairs), so ANERCorp, NewsFANE/WikiFANE and AQMAR share one path. Every repair is
counted in `CorpusStats`, never silent: a data card has to say what was changed.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rasid.articles import Article, Entity
from rasid.errors import RasidDataError

__all__ = [
    "Dialect",
    "DIALECTS",
    "Sentence",
    "CorpusStats",
    "read_sentences",
    "repair_iob",
    "tag_spans",
    "group_sentences",
    "sentences_to_articles",
]

log = logging.getLogger(__name__)

_TAG = re.compile(r"^(?:O|[BI]-[A-Za-z0-9_-]+)$")
_GLUED_TAG = re.compile(r"^(O|[BI]-[A-Z]+)(\S+)$")
_SENTENCE_END_TOKENS = frozenset({".", "!", "?", "؟"})


@dataclass(frozen=True)
class Dialect:
    """How one family of files is written.

    separator: None splits on any whitespace; "\\t" splits on tabs only.
    sentence_break: "blank" (empty line), "tab-line" (a line holding only a TAB, or an empty
    line) or "period" (no breaks in the file: a sentence ends after . ! ? ؟ tagged O).
    strip_chars: removed from every token (FANE starts most tokens with U+200E).
    tag_repairs: exact noisy tag → repaired tag; a repair that needs context is done by
    `context_repair` (tags of the sentence in, repaired tags and (old, new) pairs out).
    """

    name: str
    separator: str | None = None
    sentence_break: str = "blank"
    strip_chars: str = ""
    tag_repairs: Mapping[str, str] = field(default_factory=dict)
    context_repair: Callable[[list[str]], tuple[list[str], list[tuple[str, str]]]] | None = None


# AQMAR's noise, read from its 28 files: a doubled O, a doubled dash, stray backquote, an
# "MISS", and language markers (B-ENGLISH, B-SPANISH on Latin-script words) that are no class.
AQMAR_TAG_REPAIRS = {
    "OO": "O",
    "IO": "O",
    "I--ORG": "I-ORG",
    "B-MIS1`": "B-MIS1",
    "B-MIS-1": "B-MIS1",
    "B-MIS-2": "B-MIS2",
    "B-MISS1": "B-MIS1",
    "B-ENGLISH": "O",
    "B-SPANISH": "O",
}


def _aqmar_bare_mis(tags: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Give a bare MIS tag the number of the MISn next to it (previous first), else MIS0."""
    out, changes = list(tags), []
    for i, tag in enumerate(tags):
        if tag not in ("B-MIS", "I-MIS"):
            continue
        neighbours = [tags[j] for j in (i - 1, i + 1) if 0 <= j < len(tags)]
        number = next((t[2:] for t in neighbours if re.fullmatch(r"[BI]-MIS\d", t)), "MIS0")
        out[i] = f"{tag[:2]}{number}"
        changes.append((tag, out[i]))
    return out, changes


DIALECTS: dict[str, Dialect] = {
    # ANERCorp CAMeL split files and the AUB cleaned TSV: `token TAG`, blank line between sentences.
    "anercorp": Dialect("anercorp"),
    # The 2007 original as circulated by HassanAzzam: no sentence breaks at all.
    "anercorp-stream": Dialect("anercorp-stream", sentence_break="period"),
    "fane": Dialect("fane", separator="\t", sentence_break="tab-line", strip_chars="\u200e"),
    "aqmar": Dialect("aqmar", tag_repairs=AQMAR_TAG_REPAIRS, context_repair=_aqmar_bare_mis),
}


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]
    line: int  # 1-based line of the first token in the source file


@dataclass
class CorpusStats:
    """What a reader saw and what it changed; every number goes to the data card."""

    sentences: int = 0
    tokens: int = 0
    articles: int = 0
    malformed_lines: int = 0
    iob_repairs: int = 0
    tag_repairs: Counter = field(default_factory=Counter)  # "old -> new": n
    native_entities: Counter = field(default_factory=Counter)  # source type: n
    entities: Counter = field(default_factory=Counter)  # output label: n
    dropped: Counter = field(default_factory=Counter)  # source type mapped to O: n
    retyped: Counter = field(default_factory=Counter)  # "Type -> LABEL (rule)": n
    clitic_fixes: int = 0
    clitic_examples: Counter = field(default_factory=Counter)  # "ولبنان -> لبنان": n

    def to_dict(self) -> dict:
        return {
            "sentences": self.sentences,
            "tokens": self.tokens,
            "articles": self.articles,
            "malformed_lines": self.malformed_lines,
            "iob_repairs": self.iob_repairs,
            "tag_repairs": dict(self.tag_repairs),
            "native_entities": dict(self.native_entities.most_common()),
            "entities": dict(self.entities.most_common()),
            "dropped": dict(self.dropped.most_common()),
            "retyped": dict(self.retyped.most_common()),
            "clitic_fixes": self.clitic_fixes,
        }


def _parse_line(parts: list[str], stats: CorpusStats) -> list[tuple[str, str]]:
    """One source line → (token, tag) pairs; lines that lost a newline or hold a space are split."""
    if len(parts) == 2:
        return [(parts[0], parts[1])]
    stats.malformed_lines += 1
    if len(parts) == 1:  # " O": the token is lost (kept out); "word": the tag is (read as O)
        return [] if _TAG.match(parts[0]) else [(parts[0], "O")]
    glued = _GLUED_TAG.match(parts[1]) if len(parts) == 3 else None
    if glued and _TAG.match(parts[2]):  # ". Oالإصابة O": two lines run together
        return [(parts[0], glued.group(1)), (glued.group(2), parts[2])]
    tag = parts[-1]  # "الصالحية ونايفة O": a token with a space in it
    inside = "I-" + tag[2:] if tag.startswith("B-") else tag
    return [(tok, tag if i == 0 else inside) for i, tok in enumerate(parts[:-1])]


def read_sentences(path: str | Path, dialect: Dialect | str, stats: CorpusStats | None = None) -> list[Sentence]:
    """Read a CoNLL-style file into sentences; tag noise and invalid IOB are repaired and counted."""
    path = Path(path)
    dialect = DIALECTS[dialect] if isinstance(dialect, str) else dialect
    stats = stats if stats is not None else CorpusStats()
    if not path.exists():
        raise RasidDataError("no such file", path=str(path))
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0

    def close() -> None:
        nonlocal tokens, tags
        if tokens:
            sentences.append(_finish(Sentence(tokens, tags, first_line), dialect, stats))
        tokens, tags = [], []

    with path.open(encoding="utf-8-sig", newline="") as handle:
        for lineno, raw in enumerate(handle, 1):
            line = raw.rstrip("\r\n")
            if not line.strip():  # also the FANE break: a line holding only a TAB
                close()
                continue
            parts = line.split(dialect.separator) if dialect.separator else line.split()
            for token, tag in _parse_line(parts, stats):
                if dialect.strip_chars:
                    token = token.translate({ord(c): None for c in dialect.strip_chars})
                if not token:
                    stats.malformed_lines += 1
                    continue
                if not tokens:
                    first_line = lineno
                tokens.append(token)
                tags.append(tag)
                if dialect.sentence_break == "period" and token in _SENTENCE_END_TOKENS and tag == "O":
                    close()
    close()
    return sentences


def _finish(sentence: Sentence, dialect: Dialect, stats: CorpusStats) -> Sentence:
    tags = []
    for tag in sentence.tags:
        fixed = dialect.tag_repairs.get(tag, tag)
        if fixed != tag:
            stats.tag_repairs[f"{tag} -> {fixed}"] += 1
        elif not _TAG.match(tag):
            fixed = "O"
            stats.tag_repairs[f"{tag} -> O"] += 1
            log.warning("unknown tag %r in sentence at line %d: read as O", tag, sentence.line)
        tags.append(fixed)
    if dialect.context_repair:
        tags, changes = dialect.context_repair(tags)
        for old, new in changes:
            stats.tag_repairs[f"{old} -> {new}"] += 1
    tags, n = repair_iob(tags)
    stats.iob_repairs += n
    stats.sentences += 1
    stats.tokens += len(sentence.tokens)
    return Sentence(sentence.tokens, tags, sentence.line)


def repair_iob(tags: list[str]) -> tuple[list[str], int]:
    """IOB2 repair: an I-X that does not continue an X begins one (B-X). Returns (tags, repairs)."""
    out, repairs, previous = [], 0, "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            tag = "B-" + tag[2:]
            repairs += 1
        out.append(tag)
        previous = tag
    return out, repairs


def tag_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """(first token, last token + 1, type) for each entity in valid IOB2 tags."""
    spans: list[tuple[int, int, str]] = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            spans.append((i, i + 1, tag[2:]))
        elif tag.startswith("I-") and spans and spans[-1][1] == i and spans[-1][2] == tag[2:]:
            spans[-1] = (spans[-1][0], i + 1, spans[-1][2])
    return spans


def group_sentences(sentences: list[Sentence], max_sentences: int = 10, max_chars: int = 2000) -> list[list[Sentence]]:
    """Consecutive sentences into pseudo-articles of at most `max_sentences` and about `max_chars`.

    ANERCorp and FANE keep no document boundaries, so an article here is a window of
    consecutive sentences (the files keep the news order, so neighbours usually share a story).
    A single sentence longer than `max_chars` stays whole.
    """
    groups: list[list[Sentence]] = []
    current: list[Sentence] = []
    size = 0
    for sentence in sentences:
        length = sum(map(len, sentence.tokens)) + len(sentence.tokens)
        if current and (len(current) >= max_sentences or size + length > max_chars):
            groups.append(current)
            current, size = [], 0
        current.append(sentence)
        size += length
    if current:
        groups.append(current)
    return groups


# (source type, mention text) → output label, or None to drop the mention.
LabelFn = Callable[[str, str], "str | None"]
# (mention text, output label) → how many leading characters are a proclitic to leave out.
CliticFn = Callable[[str, str], int]


def sentences_to_articles(
    groups: Iterable[list[Sentence]],
    *,
    id_prefix: str,
    label_fn: LabelFn | None = None,
    clitic_fn: CliticFn | None = None,
    meta: dict | None = None,
    stats: CorpusStats | None = None,
) -> list[Article]:
    """Tokens joined by single spaces, sentences by "\\n"; entities are character spans into that."""
    stats = stats if stats is not None else CorpusStats()
    articles = []
    for number, group in enumerate(groups):
        pieces, entities, offset = [], [], 0
        for sentence in group:
            starts = []
            for token in sentence.tokens:
                starts.append(offset)
                offset += len(token) + 1
            for first, last, native in tag_spans(sentence.tags):
                start, end = starts[first], starts[last - 1] + len(sentence.tokens[last - 1])
                mention = " ".join(sentence.tokens[first:last])
                stats.native_entities[native] += 1
                label = label_fn(native, mention) if label_fn else native
                if label is None:
                    stats.dropped[native] += 1
                    continue
                cut = clitic_fn(mention, label) if clitic_fn else 0
                if cut:
                    stats.clitic_fixes += 1
                    stats.clitic_examples[f"{mention} -> {mention[cut:]}"] += 1
                entities.append((start + cut, end, label))
                stats.entities[label] += 1
            pieces.append(" ".join(sentence.tokens))
        text = "\n".join(pieces)
        art_meta = dict(meta or {})
        art_meta["source_lines"] = [group[0].line, group[-1].line]
        articles.append(
            Article(
                id=f"{id_prefix}-{number:05d}",
                text=text,
                entities=[Entity(f"e{i}", s, e, lab, text[s:e]) for i, (s, e, lab) in enumerate(entities)],
                relations=[],
                meta=art_meta,
            )
        )
    stats.articles += len(articles)
    return articles
