"""What annotators see on the terminal: the article to read, a new file's skeleton, and the
resolved spans of a file with their context."""

from __future__ import annotations

from rasid.articles import Article
from rasid.gold.resolve import Resolution

__all__ = ["format_article", "skeleton", "format_resolution", "markup"]

METHOD = "read and annotated in full against the guidelines"


def format_article(rec: dict, split: str = "") -> str:
    """The article exactly as stored (copy mention strings from here), under a short header."""
    meta = rec.get("meta", {})
    head = f"# {rec['id']}  [{meta.get('corpus')}/{meta.get('conflict')}, {meta.get('source')}, {meta.get('date')}, split {split or '?'}]"
    lines = rec["text"].split("\n")
    body = "\n".join(line for line in lines)
    return f"{head}\n# {meta.get('url', '')}\n# {len(rec['text'])} characters, {len(lines)} lines\n{'-' * 60}\n{body}\n{'-' * 60}"


def skeleton(article_id: str, annotator: str, pass_: int = 1) -> str:
    """A new annotation file, ready to fill in."""
    return (
        f"id: {article_id}\n"
        f"annotator: {annotator}\n"
        f"method: {METHOD}\n"
        f"pass: {pass_}\n"
        "notes: \"\"\n"
        "# [eid, \"mention exactly as in the text\", LABEL, optional: N | \"left context\" | \"!\"]\n"
        "# labels: LOC ARMED_GROUP OFFICIAL AGENCY\n"
        "entities:\n"
        "  # - [e1, \"حمص\", LOC]\n"
        "# [head_eid, RELATION, tail_eid]\n"
        "# CONTROLS WITHDREW_FROM ATTACKED FIGHTS ALLIED_WITH MEMBER_OF PART_OF LOCATED_IN BASED_IN\n"
        "relations: []\n"
        "# occurrences deliberately not annotated: [\"text\", N]\n"
        "ignore: []\n"
    )


def markup(article: Article) -> str:
    """The text with every mention bracketed: ⟦text|LABEL eid⟧."""
    out, pos = [], 0
    for e in sorted(article.entities, key=lambda e: e.start):
        out.append(article.text[pos : e.start])
        out.append(f"⟦{e.text}|{e.label} {e.id}⟧")
        pos = e.end
    out.append(article.text[pos:])
    return "".join(out)


def _context(text: str, start: int, end: int, width: int = 25) -> str:
    left = text[max(0, start - width) : start].replace("\n", "⏎")
    right = text[end : end + width].replace("\n", "⏎")
    return f"{left}[{text[start:end]}]{right}"


def format_resolution(res: Resolution, show_markup: bool = False) -> str:
    art = res.article
    ents = art.entity_by_id()
    lines = [f"{res.annotation.path}: {len(art.entities)} entities, {len(art.relations)} relations, {len(res.warnings)} warnings"]
    if not art.entities:
        lines.append("  (no entities yet: the build refuses an empty file)")
    for e in art.entities:
        lines.append(f"  {e.id:>5} {e.label:<12} @{res.occurrence_of[e.id]:<2} {e.start:>5}-{e.end:<5} {_context(art.text, e.start, e.end)}")
    if art.relations:
        lines.append("relations:")
        for r in art.relations:
            h, t = ents[r.head], ents[r.tail]
            lines.append(f"  {r.head}:{h.text} —{r.label}→ {r.tail}:{t.text}")
    if res.warnings:
        lines.append("warnings (annotate the occurrence, or list it under ignore: with a reason in notes):")
        lines += [f"  ! {w}" for w in res.warnings]
    if show_markup:
        lines += ["-" * 60, markup(art), "-" * 60]
    return "\n".join(lines)
