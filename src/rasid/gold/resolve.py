"""Turn an annotator's YAML file (mention strings, not offsets) into an exact `Article`.

File format (data/gold/annotations/<id>.yaml; docs/annotation-howto.md is the user guide):

    id: snn-alweeam-572
    annotator: amina
    method: read and annotated in full against the guidelines
    pass: 1
    notes: ""
    entities:
      - [e1, "الحوثيين", ARMED_GROUP]
      - [e2, "تعز", LOC]
      - [e3, "تعز", LOC]            # the next occurrence of تعز after e2's
      - [e4, "حمص", LOC, 3]         # the 3rd occurrence in the text (also "@3")
      - [e5, "حمص", LOC, "ريف"]     # the next occurrence whose left context ends with ريف
      - [e6, "لجيش", ARMED_GROUP, "!"]  # "!" accepts a span that cuts a word (rare; say why in notes)
    relations:
      - [e1, ATTACKED, e2]
    ignore:                         # occurrences deliberately NOT annotated (silences the warning)
      - ["النظام", 2]

How mentions become offsets. An occurrence of a mention string is *valid* when its left edge
starts a word or follows only proclitics inside the word (و ف, then one of ب ك ل س, and a
tatweel: وبحمص, لـحمص, للجيش → لجيش), and its right edge ends the word. `@N` counts valid
occurrences over the whole text, from 1. Strings are resolved longest first, so an occurrence
inside a longer mention (الأسد inside قوات الأسد) is never taken by a shorter one; the n-th
listing of a string takes the first free valid occurrence after the previous listing's, in
file order. After resolving, every other occurrence of an annotated string (compared without
diacritics, tatweel and alef/yeh/teh-marbuta variants) that no mention covers is reported as a
warning: the rule is that every mention is annotated.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rasid.articles import Article, Entity, Relation
from rasid.errors import RasidDataError
from rasid.schema import Schema

__all__ = [
    "MentionSpec",
    "AnnotationFile",
    "Resolution",
    "parse_annotation",
    "load_annotation_file",
    "resolve_annotation",
    "valid_occurrences",
    "is_word_char",
    "normalize_for_match",
]

log = logging.getLogger(__name__)

REQUIRED_HEADER = ("id", "annotator", "method", "pass")
PROCLITICS = re.compile(r"^[وف]?[بكلس]?ـ*$")
CONTEXT_STRIP = " \t\r\n«»\"'“”‘’()[]{}ـ"
CONTEXT_WINDOW = 80


def is_word_char(ch: str) -> bool:
    """Letters, digits and combining marks (harakat) join into one word; tatweel is a letter (Lm)."""
    return unicodedata.category(ch)[0] in "LNM"


def _strip_marks(s: str) -> str:
    return "".join(ch for ch in s if unicodedata.category(ch) != "Mn")


@dataclass
class MentionSpec:
    eid: str
    surface: str
    label: str
    index: int | None = None
    context: str | None = None
    loose: bool = False
    item: int = 0  # position in the file's entity list, from 1, for error messages


@dataclass
class IgnoreSpec:
    surface: str
    index: int | None = None
    context: str | None = None


@dataclass
class AnnotationFile:
    path: str
    article_id: str
    annotator: str
    method: str
    pass_: int
    notes: str
    entities: list[MentionSpec]
    relations: list[tuple[str, str, str]]
    ignore: list[IgnoreSpec] = field(default_factory=list)


@dataclass
class Resolution:
    article: Article
    annotation: AnnotationFile
    occurrence_of: dict[str, int]  # eid → its @N among the valid occurrences of its string
    warnings: list[str]


# ---------------------------------------------------------------------------------------------
# Parsing


def _options(raw: list, where: str, path: str) -> tuple[int | None, str | None, bool]:
    index, context, loose = None, None, False
    for opt in raw:
        if isinstance(opt, bool):
            raise RasidDataError(f"option {opt!r} is not an occurrence number, context or '!'", path=path, record=where)
        if isinstance(opt, int):
            index = opt
        elif isinstance(opt, str) and re.fullmatch(r"@\d+", opt.strip()):
            index = int(opt.strip()[1:])
        elif opt == "!":
            loose = True
        elif isinstance(opt, str) and opt.strip():
            context = opt
        else:
            raise RasidDataError(f"option {opt!r} is not an occurrence number, context or '!'", path=path, record=where)
    if index is not None and index < 1:
        raise RasidDataError(f"occurrence numbers start at 1, got {index}", path=path, record=where)
    return index, context, loose


def parse_annotation(data: object, path: str = "<annotation>") -> AnnotationFile:
    """Check the structure of a loaded YAML document and return it typed."""
    if not isinstance(data, dict):
        raise RasidDataError("expected a mapping with id, annotator, method, pass, entities, relations", path=path)
    missing = [k for k in REQUIRED_HEADER if data.get(k) in (None, "")]
    if missing:
        raise RasidDataError(f"missing header field(s): {', '.join(missing)}", path=path)
    if data["pass"] not in (1, 2):
        raise RasidDataError(f"'pass' must be 1 or 2, got {data['pass']!r}", path=path)
    entities: list[MentionSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(data.get("entities") or [], 1):
        where = f"entity #{i} {item!r}"
        if not isinstance(item, list) or len(item) < 3:
            raise RasidDataError("write an entity as [eid, \"mention text\", LABEL, options...]", path=path, record=where)
        eid, surface, label = str(item[0]).strip(), item[1], str(item[2]).strip()
        if not isinstance(surface, str) or not surface:
            raise RasidDataError("the mention text must be a non-empty string (quote it)", path=path, record=where)
        if surface != surface.strip():
            raise RasidDataError("the mention text starts or ends with a space", path=path, record=where)
        if eid in seen:
            raise RasidDataError(f"entity id {eid} is used twice", path=path, record=where)
        seen.add(eid)
        index, context, loose = _options(item[3:], where, path)
        entities.append(MentionSpec(eid, surface, label, index, context, loose, i))
    relations: list[tuple[str, str, str]] = []
    for i, item in enumerate(data.get("relations") or [], 1):
        if not isinstance(item, list) or len(item) != 3:
            raise RasidDataError("write a relation as [head_eid, LABEL, tail_eid]", path=path, record=f"relation #{i} {item!r}")
        relations.append((str(item[0]).strip(), str(item[1]).strip(), str(item[2]).strip()))
    ignore: list[IgnoreSpec] = []
    for i, item in enumerate(data.get("ignore") or [], 1):
        item = [item] if isinstance(item, str) else item
        where = f"ignore #{i} {item!r}"
        if not isinstance(item, list) or not item or not isinstance(item[0], str):
            raise RasidDataError("write an ignore entry as [\"text\"] or [\"text\", N] or [\"text\", \"context\"]", path=path, record=where)
        index, context, _ = _options(item[1:], where, path)
        ignore.append(IgnoreSpec(item[0], index, context))
    return AnnotationFile(
        path=path,
        article_id=str(data["id"]),
        annotator=str(data["annotator"]),
        method=str(data["method"]),
        pass_=int(data["pass"]),
        notes=str(data.get("notes") or ""),
        entities=entities,
        relations=relations,
        ignore=ignore,
    )


def load_annotation_file(path: str | Path) -> AnnotationFile:
    path = Path(path)
    if not path.exists():
        raise RasidDataError("no such file", path=str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        raise RasidDataError(f"not valid YAML ({getattr(exc, 'problem', exc)}); quote every mention text", path=str(path), record=where) from None
    ann = parse_annotation(data, str(path))
    if ann.article_id != path.stem:
        raise RasidDataError(f"header id {ann.article_id!r} does not match the file name", path=str(path))
    return ann


# ---------------------------------------------------------------------------------------------
# Occurrences


def _left_prefix(text: str, start: int) -> str:
    i = start
    while i > 0 and is_word_char(text[i - 1]):
        i -= 1
    return text[i:start]


def boundary_problem(text: str, start: int, end: int) -> str | None:
    """Why text[start:end] is not a valid mention span, or None when it is."""
    prefix = _left_prefix(text, start)
    if prefix and not PROCLITICS.match(_strip_marks(prefix)):
        return f"starts inside the word (after {prefix!r}, which is not a proclitic)"
    if start < len(text) and unicodedata.category(text[start]) == "Mn":
        return "starts with a diacritic"
    if end < len(text) and is_word_char(text[end]):
        return f"ends inside the word (followed by {text[end]!r})"
    return None


def valid_occurrences(text: str, surface: str, loose: bool = False) -> list[int]:
    """Start offsets of every occurrence of `surface` that is a valid mention span."""
    out, i = [], text.find(surface)
    while i != -1:
        if loose or boundary_problem(text, i, i + len(surface)) is None:
            out.append(i)
        i = text.find(surface, i + 1)
    return out


def _context_matches(text: str, start: int, context: str) -> bool:
    """The text just before `start` ends with `context`: compared with whitespace runs collapsed
    and quotes, brackets and tatweel at the junction ignored; or exactly (clitics: "وب")."""
    if text[:start].endswith(context):
        return True
    before = re.sub(r"\s+", " ", text[max(0, start - len(context) - CONTEXT_WINDOW) : start]).rstrip(CONTEXT_STRIP)
    ctx = re.sub(r"\s+", " ", context).strip(CONTEXT_STRIP)
    return bool(ctx) and before.endswith(ctx)


def _snippet(text: str, start: int, end: int, width: int = 30) -> str:
    left = text[max(0, start - width) : start].replace("\n", " ⏎ ")
    right = text[end : end + width].replace("\n", " ⏎ ")
    return f"…{left}[{text[start:end]}]{right}…"


_NORMALIZE = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})


def normalize_for_match(s: str) -> tuple[str, list[int]]:
    """Drop diacritics and tatweel, unify alef/yeh/teh-marbuta forms; also return, for each
    kept character, its index in `s`."""
    chars, index = [], []
    for i, ch in enumerate(s):
        if unicodedata.category(ch) == "Mn" or ch == "ـ":
            continue
        chars.append(ch.translate(_NORMALIZE))
        index.append(i)
    return "".join(chars), index


# ---------------------------------------------------------------------------------------------
# Resolution


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _resolve_mentions(ann: AnnotationFile, text: str, labels: set[str]) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
    path = ann.path
    spans: dict[str, tuple[int, int]] = {}
    occurrence_of: dict[str, int] = {}
    cursor: dict[str, int] = {}
    cache: dict[tuple[str, bool], list[int]] = {}
    for spec in sorted(ann.entities, key=lambda s: (-len(s.surface), s.item)):
        where = f"entity {spec.eid} {spec.surface!r}"
        if spec.label not in labels:
            raise RasidDataError(f"unknown label {spec.label!r} (labels: {', '.join(sorted(labels))})", path=path, record=where)
        occ = cache.setdefault((spec.surface, spec.loose), valid_occurrences(text, spec.surface, spec.loose))
        if not occ:
            raise RasidDataError(_not_found_message(text, spec.surface), path=path, record=where)
        longer = [(s, e) for s, e in spans.values() if e - s > len(spec.surface)]
        if spec.index is not None:
            if spec.index > len(occ):
                raise RasidDataError(f"asks for occurrence {spec.index} but the text has {len(occ)} valid occurrence(s)", path=path, record=where)
            start = occ[spec.index - 1]
        else:
            pool = [o for o in occ if o >= cursor.get(spec.surface, 0)]
            if spec.context is not None:
                pool = [o for o in pool if _context_matches(text, o, spec.context)]
            pool = [o for o in pool if not any(_overlaps((o, o + len(spec.surface)), sp) for sp in longer)]
            if not pool:
                listed = sum(1 for s in ann.entities if s.surface == spec.surface)
                detail = f"with left context {spec.context!r} " if spec.context else ""
                raise RasidDataError(
                    f"no free occurrence {detail}left after the previous listing: the text has {len(occ)} valid "
                    f"occurrence(s) of this string, the file lists it {listed} time(s) (check the order, or use N / context)",
                    path=path,
                    record=where,
                )
            start = pool[0]
        span = (start, start + len(spec.surface))
        for other, other_span in spans.items():
            if _overlaps(span, other_span):
                raise RasidDataError(
                    f"overlaps entity {other} {text[other_span[0]:other_span[1]]!r} at {_snippet(text, *span)} "
                    "(annotate only the longest mention; use N or a context to pick another occurrence)",
                    path=path,
                    record=where,
                )
        spans[spec.eid] = span
        occurrence_of[spec.eid] = occ.index(start) + 1
        cursor[spec.surface] = span[1]
    return spans, occurrence_of


def _not_found_message(text: str, surface: str) -> str:
    raw = []
    i = text.find(surface)
    while i != -1 and len(raw) < 3:
        raw.append(f"{_snippet(text, i, i + len(surface))} {boundary_problem(text, i, i + len(surface))}")
        i = text.find(surface, i + 1)
    if raw:
        return "found only where it cuts a word: " + "; ".join(raw) + " (fix the span, or add '!' if it is really meant)"
    hint = ""
    if surface.startswith("ال") and f"ل{surface[2:]}" in text:
        hint = f" (after ل the article fuses: write {('ل' + surface[2:])!r})"
    norm_text, _ = normalize_for_match(text)
    if not hint and normalize_for_match(surface)[0] in norm_text:
        hint = " (it occurs with other diacritics, hamza or ة/ه/ى spelling: copy it from the text)"
    return "not found in the article text" + hint


def _check_relations(ann: AnnotationFile, entities: dict[str, Entity], schema: Schema) -> tuple[list[Relation], list[str]]:
    out: list[Relation] = []
    warnings: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for i, (head, label, tail) in enumerate(ann.relations, 1):
        where = f"relation #{i} [{head}, {label}, {tail}]"
        for eid in (head, tail):
            if eid not in entities:
                raise RasidDataError(f"entity {eid} is not defined in this file", path=ann.path, record=where)
        if head == tail:
            raise RasidDataError("a relation needs two different entities", path=ann.path, record=where)
        rel = schema.relation_by_name.get(label)
        if rel is None:
            raise RasidDataError(f"unknown relation {label!r} (relations: {', '.join(schema.relation_labels)})", path=ann.path, record=where)
        h, t = entities[head], entities[tail]
        if not schema.relation_allowed(label, h.label, t.label):
            swap = " (swap head and tail)" if schema.relation_allowed(label, t.label, h.label) else ""
            raise RasidDataError(
                f"{label} cannot join {h.label} {h.text!r} → {t.label} {t.text!r}: it takes "
                f"{'/'.join(rel.heads)} → {'/'.join(rel.tails)}{swap}",
                path=ann.path,
                record=f"{where}, entity {head}",
            )
        if label in schema.symmetric_relations and h.start > t.start:
            head, tail = tail, head  # symmetric relations are stored once, head first in the text
        key = (head, label, tail)
        if key in seen:
            warnings.append(f"{where}: listed twice; kept once")
            continue
        seen.add(key)
        out.append(Relation(head=head, tail=tail, label=label))
    return out, warnings


def _ignored(text: str, start: int, surface: str, ignores: list[IgnoreSpec]) -> bool:
    for ig in ignores:
        if normalize_for_match(ig.surface)[0] != normalize_for_match(surface)[0] and ig.surface != surface:
            continue
        if ig.index is not None:
            occ = valid_occurrences(text, text[start : start + len(surface)])
            if start in occ and occ.index(start) + 1 == ig.index:
                return True
        elif ig.context is not None:
            if _context_matches(text, start, ig.context):
                return True
        else:
            return True
    return False


def _missed_repeats(text: str, entities: list[Entity], ignores: list[IgnoreSpec]) -> list[str]:
    norm_text, index = normalize_for_match(text)
    covered = [(e.start, e.end) for e in entities]
    warnings, reported = [], set()
    for surface in sorted({e.text for e in entities}, key=len, reverse=True):
        norm_surface = normalize_for_match(surface)[0]
        if not norm_surface:
            continue
        i = norm_text.find(norm_surface)
        while i != -1:
            start = index[i]
            end = index[i + len(norm_surface) - 1] + 1
            while end < len(text) and unicodedata.category(text[end]) == "Mn":
                end += 1
            span = (start, end)
            if (
                span not in reported
                and boundary_problem(text, start, end) is None
                and not any(_overlaps(span, c) for c in covered)
                and not _ignored(text, start, text[start:end], ignores)
            ):
                reported.add(span)
                found = text[start:end]
                occ = valid_occurrences(text, found)
                n = occ.index(start) + 1 if start in occ else "?"
                warnings.append(f"not annotated: {found!r} occurrence {n} at {start}: {_snippet(text, start, end)}")
            i = norm_text.find(norm_surface, i + 1)
    return warnings


def resolve_annotation(ann: AnnotationFile, text: str, schema: Schema, meta: dict | None = None) -> Resolution:
    """Resolve every mention to offsets and check relations; raises RasidDataError on the first
    problem (file and entity named), and lists soft problems as warnings."""
    spans, occurrence_of = _resolve_mentions(ann, text, set(schema.entity_labels))
    by_eid = {s.eid: s for s in ann.entities}
    entities = sorted(
        (Entity(id=eid, start=s, end=e, label=by_eid[eid].label, text=text[s:e]) for eid, (s, e) in spans.items()),
        key=lambda ent: ent.start,
    )
    ent_map = {e.id: e for e in entities}
    relations, warnings = _check_relations(ann, ent_map, schema)
    labels_of: dict[str, set[str]] = {}
    for e in entities:
        labels_of.setdefault(normalize_for_match(e.text)[0], set()).add(e.label)
    for surface, labels in sorted(labels_of.items()):
        if len(labels) > 1:
            warnings.append(f"the same name carries different labels {sorted(labels)}: {surface!r} (fine only if the meaning differs)")
    warnings.extend(_missed_repeats(text, entities, ann.ignore))
    art_meta = dict(meta or {})
    art_meta.update({"annotator": ann.annotator, "pass": ann.pass_, "method": ann.method})
    article = Article(id=ann.article_id, text=text, entities=entities, relations=relations, meta=art_meta)
    return Resolution(article=article, annotation=ann, occurrence_of=occurrence_of, warnings=warnings)
