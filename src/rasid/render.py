"""`rasid render`: articles as a standalone right-to-left HTML page, gold and predicted side by side.

Arabic joins letters across element boundaries in Chromium only while nothing adds space
inside the word and the bidi run is not cut. So a highlight is a plain inline `<mark>` with a
background, outline and text decoration only: no padding, margin, border or
`unicode-bidi: isolate` (all of which break the join of a clitic such as ل or ب with the name
it is attached to; tests/test_render.py measures this). The label tag goes after the end of
the word, never inside one. Relation arcs are SVG, drawn by a small inline script once the
text is laid out. The page fetches nothing: its Content-Security-Policy forbids it.
"""

from __future__ import annotations

import html
import logging
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from rasid.article_diff import MISSED, OK, SPURIOUS, WRONG_BOUNDARY, WRONG_TYPE, ArticleDiff, diff_article
from rasid.articles import Article, Entity
from rasid.errors import RasidConfigError, RasidDataError
from rasid.io import atomic_write
from rasid.schema import Schema, load_schema

log = logging.getLogger(__name__)

__all__ = ["render_article_html", "render_articles_html", "render_file", "render_cmd", "add_render_arguments", "NotebookFrame",
           "highlight_text", "find_chromium", "chromium_screenshot", "chromium_dump_dom"]

ARABIC_FONTS = ('"Noto Naskh Arabic", "Noto Sans Arabic", "Amiri", "Scheherazade New", "Geeza Pro", "Arabic Typesetting", '
                '"Traditional Arabic", "Segoe UI", Tahoma, "DejaVu Sans", sans-serif')
UI_FONTS = '"Noto Sans Arabic", "Noto Sans", "DejaVu Sans", "Segoe UI", Tahoma, sans-serif'

# What each status looks like in the tag and in words (title, legend).
STATUS_MARK = {OK: "", MISSED: "✗", SPURIOUS: "✗", WRONG_TYPE: "≠", WRONG_BOUNDARY: "↔"}
STATUS_WORDS = {OK: "correct", MISSED: "missed", SPURIOUS: "spurious", WRONG_TYPE: "wrong type", WRONG_BOUNDARY: "wrong boundary"}

_CSS = """
:root { --ok: #2c3e50; --bad: #c0392b; --warn: #d35400; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px 24px 48px; font-family: __UI__; color: #1d1d1f; background: #fff; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 0; }
.meta { color: #666; font-size: 13px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; font-size: 13px; margin: 8px 0 12px; }
.legend mark { font-family: __ARABIC__; }
.index { border-collapse: collapse; font-size: 13px; margin-bottom: 18px; }
.index th, .index td { border-bottom: 1px solid #e3e3e3; padding: 3px 10px; text-align: start; }
.index td.n { text-align: end; font-variant-numeric: tabular-nums; }
.article { border-top: 2px solid #ddd; padding-top: 12px; margin-top: 20px; }
.cols { display: grid; grid-template-columns: repeat(var(--ncols, 1), minmax(0, 1fr)); gap: 20px; margin-top: 8px; }
.doc h3 { font-size: 14px; margin: 0 0 4px; color: #444; }
.text { position: relative; font-family: __ARABIC__; font-size: 19px; line-height: 2.9; white-space: pre-wrap;
        text-align: start; overflow-wrap: break-word; }
/* No padding, margin, border or bidi isolation here: any of them breaks Arabic joining. */
mark.ent { color: inherit; background: color-mix(in srgb, var(--c) 28%, white); border-radius: 3px;
           box-shadow: inset 0 -2px 0 var(--c); }
mark.ent.s-missed, mark.ent.s-spurious { outline: 2px dashed var(--bad); outline-offset: 1px; }
mark.ent.s-wrong_type { outline: 2px solid var(--warn); outline-offset: 1px; }
mark.ent.s-wrong_boundary { outline: 2px dotted var(--warn); outline-offset: 1px; }
mark.ent.hot { background: color-mix(in srgb, var(--c) 55%, white); }
.tag { unicode-bidi: isolate; direction: ltr; display: inline-block; font-family: __UI__; font-size: 10px; line-height: 1.3;
       font-weight: 600; color: #fff; background: var(--c); border-radius: 3px; padding: 0 3px; margin-inline-start: 2px;
       vertical-align: 0.35em; }
.tag .st { color: #fff; margin-inline-start: 2px; padding: 0 2px; border-radius: 2px; background: var(--bad); }
.tag.s-wrong_type .st, .tag.s-wrong_boundary .st { background: var(--warn); }
svg.arcs { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; overflow: visible; }
svg.arcs path { fill: none; stroke: var(--ok); stroke-width: 1.4; opacity: 0.8; }
svg.arcs .s-missed path, svg.arcs .s-spurious path { stroke: var(--bad); stroke-dasharray: 5 3; }
svg.arcs .s-wrong_type path { stroke: var(--warn); stroke-dasharray: 2 2; }
svg.arcs text { font-family: __UI__; font-size: 10px; fill: #222; direction: ltr; unicode-bidi: plaintext; }
svg.arcs rect { fill: #fff; opacity: 0.9; }
svg.arcs g.far { opacity: 0.4; }
svg.arcs g.hot { opacity: 1; }
svg.arcs g.hot path { stroke-width: 3; opacity: 1; }
.rels { font-size: 13px; margin: 6px 0 0; padding-inline-start: 20px; }
.rels li.s-missed, .rels li.s-spurious { color: var(--bad); }
.rels li.s-wrong_type { color: var(--warn); }
.rels .rl { font-family: __UI__; font-weight: 600; }
.rels bdi { font-family: __ARABIC__; }
.none { color: #888; font-size: 13px; }
""".replace("__UI__", UI_FONTS).replace("__ARABIC__", ARABIC_FONTS)

# Draws the arcs once layout is known, again when fonts arrive or the window resizes.
_SCRIPT = """
(function () {
  var NS = "http://www.w3.org/2000/svg";
  function firstBox(doc, eid) {
    var m = doc.querySelector('mark.ent.first[data-eid="' + CSS.escape(eid) + '"]');
    if (!m) return null;
    var r = m.getClientRects();
    return r.length ? r[0] : m.getBoundingClientRect();
  }
  function draw(doc) {
    var text = doc.querySelector(".text"), svg = doc.querySelector("svg.arcs");
    if (!text || !svg) return;
    while (svg.lastChild && svg.lastChild.tagName !== "defs") svg.removeChild(svg.lastChild);
    var base = text.getBoundingClientRect(), drawn = 0, marker = svg.getAttribute("data-marker");
    doc.querySelectorAll("li.rel").forEach(function (li) {
      var h = firstBox(doc, li.dataset.head), t = firstBox(doc, li.dataset.tail);
      if (!h || !t) { li.classList.add("dangling"); return; }
      var x1 = h.left + h.width / 2 - base.left, y1 = h.top - base.top + 4;
      var x2 = t.left + t.width / 2 - base.left, y2 = t.top - base.top + 4;
      var lift = Math.min(34, 12 + Math.abs(x2 - x1) * 0.08);
      var cx = (x1 + x2) / 2, cy = Math.min(y1, y2) - lift;
      var g = document.createElementNS(NS, "g");
      // arcs between lines cross the text: faint until one of their entities is hovered
      var far = Math.abs(y1 - y2) > h.height / 2;
      g.setAttribute("class", "arc s-" + li.dataset.status + (far ? " far" : ""));
      g.dataset.head = li.dataset.head; g.dataset.tail = li.dataset.tail;
      var p = document.createElementNS(NS, "path");
      p.setAttribute("d", "M" + x1 + " " + y1 + " Q" + cx + " " + cy + " " + x2 + " " + y2);
      if (li.dataset.sym !== "1") p.setAttribute("marker-end", "url(#" + marker + ")");
      g.appendChild(p);
      var lx = (x1 + 2 * cx + x2) / 4, ly = (y1 + 2 * cy + y2) / 4;
      var label = document.createElementNS(NS, "text");
      label.setAttribute("x", lx); label.setAttribute("y", ly + 3); label.setAttribute("text-anchor", "middle");
      label.textContent = li.dataset.label;
      var bg = document.createElementNS(NS, "rect");
      g.appendChild(bg); g.appendChild(label); svg.appendChild(g);
      var b = label.getBBox();
      bg.setAttribute("x", b.x - 2); bg.setAttribute("y", b.y); bg.setAttribute("width", b.width + 4); bg.setAttribute("height", b.height);
      drawn++;
    });
    svg.setAttribute("data-arcs", drawn);
  }
  function drawAll() { document.querySelectorAll(".doc").forEach(draw); document.body.setAttribute("data-drawn", "1"); }
  function hover(ev, on) {
    var m = ev.target.closest && ev.target.closest("mark.ent");
    if (!m) return;
    var doc = m.closest(".doc"), eid = m.dataset.eid;
    doc.querySelectorAll('mark.ent[data-eid="' + CSS.escape(eid) + '"]').forEach(function (x) { x.classList.toggle("hot", on); });
    doc.querySelectorAll("g.arc").forEach(function (g) {
      if (g.dataset.head === eid || g.dataset.tail === eid) g.classList.toggle("hot", on);
    });
  }
  document.addEventListener("mouseover", function (e) { hover(e, true); });
  document.addEventListener("mouseout", function (e) { hover(e, false); });
  window.addEventListener("resize", drawAll);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(drawAll);
  drawAll();
})();
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _is_word_char(ch: str) -> bool:
    # letters, combining marks (harakat) and tatweel all belong to the word being joined
    return unicodedata.category(ch)[0] in "LMN" or ch in "\u200c\u200d"


def _word_end(text: str, pos: int) -> int:
    """First position at or after `pos` that is not inside a word: where a tag may go."""
    if pos <= 0:
        return pos
    while pos < len(text) and _is_word_char(text[pos]) and _is_word_char(text[pos - 1]):
        pos += 1
    return pos


def _colors(schema: Schema) -> dict[str, str]:
    return {e.name: e.color for e in schema.entities}


def _entity_title(ent: Entity, status: str | None) -> str:
    parts = [ent.label, ent.id]
    if ent.score is not None:
        parts.append(f"score {ent.score:.2f}")
    if status:
        parts.append(STATUS_WORDS.get(status, status))
    return " · ".join(parts)


def highlight_text(text: str, entities: Sequence[Entity], colors: dict[str, str], statuses: dict[str, str] | None = None) -> str:
    """`text` as escaped HTML with one `<mark>` per entity and a label tag after the word it ends in.

    Nested entities nest; crossing ones are split into fragments (the first has class `first`,
    which is where relation arcs attach). Offsets are code points, as in contract.md §1.
    """
    statuses = statuses or {}
    ents = [e for e in entities if 0 <= e.start < e.end <= len(text)]
    order = sorted(range(len(ents)), key=lambda i: (ents[i].start, -ents[i].end, i))
    tags_at: dict[int, list[int]] = {}
    for i in order:
        tags_at.setdefault(_word_end(text, ents[i].end), []).append(i)
    cuts = sorted({0, len(text), *(e.start for e in ents), *(e.end for e in ents), *tags_at})
    out: list[str] = []
    stack: list[int] = []
    opened: set[int] = set()

    def tag(i: int) -> str:
        e = ents[i]
        st = statuses.get(e.id, "")
        mark = STATUS_MARK.get(st, "")
        sym = f'<span class="st">{_e(mark)}</span>' if mark else ""
        cls = f"tag s-{_e(st)}" if st else "tag"
        return f'<span class="{cls}" style="--c:{_e(colors.get(e.label, "#999999"))}" aria-hidden="true">{_e(e.label)}{sym}</span>'

    for a, b in zip(cuts, cuts[1:] + [None], strict=True):
        covering = [i for i in order if ents[i].start <= a < ents[i].end]
        keep = 0
        while keep < min(len(stack), len(covering)) and stack[keep] == covering[keep]:
            keep += 1
        out.extend("</mark>" for _ in stack[keep:])
        del stack[keep:]
        out.extend(tag(i) for i in tags_at.get(a, []))
        for i in covering[keep:]:
            e = ents[i]
            st = statuses.get(e.id, "")
            classes = ["ent", "first" if i not in opened else "cont"] + ([f"s-{st}"] if st else [])
            out.append(f'<mark class="{_e(" ".join(classes))}" data-eid="{_e(e.id)}" data-label="{_e(e.label)}" '
                       f'style="--c:{_e(colors.get(e.label, "#999999"))}" title="{_e(_entity_title(e, st))}">')
            opened.add(i)
            stack.append(i)
        if b is not None:
            out.append(_e(text[a:b]))
    out.extend("</mark>" for _ in stack)
    return "".join(out)


def _relations_html(article: Article, schema: Schema, statuses: list[str] | None) -> str:
    if not article.relations:
        return ""
    by_id = article.entity_by_id()
    symmetric = schema.symmetric_relations
    items = []
    for i, rel in enumerate(article.relations):
        st = statuses[i] if statuses else OK
        sym = rel.label in symmetric
        h, t = by_id.get(rel.head), by_id.get(rel.tail)
        arrow = "—" if sym else "←"  # reads right to left: head, then the relation, then the tail
        score = f" ({rel.score:.2f})" if rel.score is not None else ""
        note = f" · {STATUS_WORDS[st]}" if statuses and st != OK else ""
        items.append(
            f'<li class="rel s-{_e(st)}" data-head="{_e(rel.head)}" data-tail="{_e(rel.tail)}" data-label="{_e(rel.label)}" '
            f'data-sym="{1 if sym else 0}" data-status="{_e(st)}"><bdi>{_e(h.text if h else rel.head)}</bdi> '
            f'<bdi>{arrow} <span class="rl">{_e(rel.label)}</span> {arrow}</bdi> <bdi>{_e(t.text if t else rel.tail)}</bdi> '
            f'<bdi>{_e((score + note).strip())}</bdi></li>')
    return f'<ol class="rels">{"".join(items)}</ol>'


def _doc_html(article: Article, schema: Schema, heading: str, side: str, uid: str,
              ent_status: dict[str, str] | None, rel_status: list[str] | None) -> str:
    marker = f"arrow-{uid}-{side}"
    svg = (f'<svg class="arcs" data-marker="{_e(marker)}" aria-hidden="true"><defs><marker id="{_e(marker)}" viewBox="0 0 8 8" refX="7" '
           f'refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L8 4 L0 8 z" fill="#2c3e50"/></marker></defs></svg>')
    n_rel = f", {len(article.relations)} relations" if article.relations else ""
    return (f'<div class="doc {side}" data-side="{side}"><h3>{_e(heading)} '
            f'<span class="meta">({len(article.entities)} entities{n_rel})</span></h3>'
            f'<div class="text" dir="rtl" lang="ar">{svg}{highlight_text(article.text, article.entities, _colors(schema), ent_status)}</div>'
            f'{_relations_html(article, schema, rel_status)}</div>')


def _meta_line(article: Article) -> str:
    meta = article.meta or {}
    parts = [f"{k}: {meta[k]}" for k in ("source", "date", "license") if meta.get(k)]
    if meta.get("silver"):
        parts.append("silver annotation")
    return " · ".join(parts)


def _article_section(gold: Article, schema: Schema, predicted: Article | None, uid: str, diff: ArticleDiff | None) -> str:
    head = (f'<section class="article" id="{_e("a-" + gold.id)}" data-article="{_e(gold.id)}"><h2 dir="auto">{_e(gold.id)}</h2>'
            f'<div class="meta" dir="auto">{_e(_meta_line(gold))}'
            + (f" · {diff.errors} errors" if diff is not None else "") + "</div>")
    if predicted is None:
        cols = _doc_html(gold, schema, "Annotation", "gold", uid, None, None)
        return f'{head}<div class="cols" style="--ncols:1">{cols}</div></section>'
    cols = (_doc_html(gold, schema, "Gold", "gold", uid, diff.gold_entities, diff.gold_relations)
            + _doc_html(predicted, schema, "Predicted", "pred", uid, diff.pred_entities, diff.pred_relations))
    return f'{head}<div class="cols" style="--ncols:2">{cols}</div></section>'


def _legend(schema: Schema, with_predictions: bool) -> str:
    colors = _colors(schema)
    items = [f'<span><mark class="ent" style="--c:{_e(c)}">{_e(name)}</mark> {_e(next(e.description for e in schema.entities if e.name == name))}</span>'
             for name, c in colors.items()]
    if with_predictions:
        for st in (MISSED, SPURIOUS, WRONG_TYPE, WRONG_BOUNDARY):
            items.append(f'<span><mark class="ent s-{st}" style="--c:#bbbbbb">{_e(STATUS_WORDS[st])}</mark> '
                         f'<span class="tag s-{st}" style="--c:#999">{_e(STATUS_MARK[st])}</span></span>')
    return f'<div class="legend" dir="ltr">{"".join(items)}</div>'


def render_articles_html(pairs: Iterable[tuple[Article, Article | None]], schema: Schema, title: str | None = None) -> str:
    """One standalone page: an index, then each article (gold, and predicted beside it when given)."""
    pairs = list(pairs)
    with_pred = any(p is not None for _, p in pairs)
    symmetric = schema.symmetric_relations
    sections, rows = [], []
    for n, (gold, pred) in enumerate(pairs):
        if pred is not None and pred.text != gold.text:
            raise RasidDataError("predicted article text differs from the gold text", record=f"article {gold.id}")
        diff = diff_article(gold, pred, symmetric) if pred is not None else None
        sections.append(_article_section(gold, schema, pred, str(n), diff))
        cells = [f'<td><a href="#{_e("a-" + gold.id)}" dir="auto">{_e(gold.id)}</a></td>',
                 f'<td dir="auto">{_e((gold.meta or {}).get("source", ""))}</td>',
                 f'<td class="n">{len(gold.text)}</td>', f'<td class="n">{len(gold.entities)}</td>', f'<td class="n">{len(gold.relations)}</td>']
        if pred is not None:
            cells += [f'<td class="n">{len(pred.entities)}</td>', f'<td class="n">{diff.errors}</td>']
        rows.append(f"<tr>{''.join(cells)}</tr>")
    title = title or ("rasid: gold and predicted" if with_pred else "rasid: articles")
    index = ""
    if len(pairs) > 1:
        heads = ["article", "source", "chars", "entities", "relations"] + (["predicted", "errors"] if with_pred else [])
        index = (f'<table class="index" dir="ltr"><thead><tr>{"".join(f"<th>{h}</th>" for h in heads)}</tr></thead>'
                 f'<tbody>{"".join(rows)}</tbody></table>')
    return ("<!DOCTYPE html>\n"
            f'<html dir="rtl" lang="ar"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
            f"<style>{_CSS}</style></head><body>"
            f'<header dir="ltr"><h1>{_e(title)}</h1><div class="meta">{len(pairs)} article(s)</div>{_legend(schema, with_pred)}{index}</header>'
            f'<main>{"".join(sections)}</main>'
            f"<script>{_SCRIPT}</script></body></html>\n")


def render_article_html(article: Article, schema: Schema, predicted: Article | None = None, title: str | None = None) -> str:
    """One article as a standalone page; with `predicted`, gold and predicted side by side."""
    return render_articles_html([(article, predicted)], schema, title=title or f"rasid: {article.id}")


def _read(path: str | Path, schema: Schema) -> list[Article]:
    from rasid.data import iter_articles

    return list(iter_articles(path, schema))


def render_file(gold_jsonl: str | Path, out_html: str | Path, predictions: str | Path | None = None, ids: Sequence[str] | None = None,
                limit: int | None = None, schema: Schema | None = None, order: str = "file", title: str | None = None) -> int:
    """Render articles from a gold file (and predictions matched by id) into one page; returns how many.

    `order="worst"` puts the articles with the most errors first (needs predictions).
    """
    schema = schema or load_schema()
    gold = _read(gold_jsonl, schema)
    if ids:
        wanted = list(dict.fromkeys(ids))
        by_id = {a.id: a for a in gold}
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise RasidDataError(f"no article with id {missing[0]!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                                 path=str(gold_jsonl))
        gold = [by_id[i] for i in wanted]
    pairs: list[tuple[Article, Article | None]]
    if predictions is not None:
        pred_by_id = {a.id: a for a in _read(predictions, schema)}
        pairs = []
        for g in gold:
            p = pred_by_id.get(g.id)
            if p is None:
                raise RasidDataError(f"no prediction for article {g.id}", path=str(predictions))
            if p.text != g.text:
                raise RasidDataError("predicted article text differs from the gold text", path=str(predictions), record=f"article {g.id}")
            pairs.append((g, p))
    else:
        pairs = [(g, None) for g in gold]
    if order == "worst":
        if predictions is None:
            raise RasidDataError("--order worst needs --predictions", path=str(gold_jsonl))
        symmetric = schema.symmetric_relations
        pairs.sort(key=lambda gp: (-diff_article(gp[0], gp[1], symmetric).errors, gp[0].id))
    elif order != "file":
        raise RasidDataError(f"unknown order {order!r} (file | worst)")
    if limit is not None:
        pairs = pairs[:limit]
    page = render_articles_html(pairs, schema, title=title)
    out_html = Path(out_html)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_html) as handle:
        handle.write(page)
    log.info("rendered %d article(s) to %s", len(pairs), out_html)
    return len(pairs)


class NotebookFrame:
    """A rendered page shown inline in Jupyter: an iframe, so the page's styles and script stay its own."""

    def __init__(self, page: str, height: int = 600):
        self.page, self.height = page, height

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{_e(self.page)}" style="width:100%; height:{int(self.height)}px; border:1px solid #ddd" '
                'sandbox="allow-scripts"></iframe>')


def add_render_arguments(parser) -> None:
    """The options of `rasid render`, for the CLI's subparser."""
    parser.add_argument("data", help="articles to show: JSONL (gold or any annotated file) or a Label Studio JSON export")
    parser.add_argument("--predictions", default=None, help="predicted articles (JSONL) to show beside them, matched by id")
    parser.add_argument("--output", "-o", required=True, help="the HTML page to write")
    parser.add_argument("--ids", default=None, help="only these article ids, comma-separated, in this order")
    parser.add_argument("--limit", type=int, default=None, help="at most this many articles")
    parser.add_argument("--order", choices=["file", "worst"], default="file", help="worst: most errors first (needs --predictions)")
    parser.add_argument("--schema", default=None, help="schema YAML for the colours (default: configs/schema.yaml)")
    parser.add_argument("--title", default=None, help="page title")


def render_cmd(args) -> int:
    """`rasid render DATA [--predictions P] --output OUT.html`: what the CLI calls."""
    schema = load_schema(args.schema)
    ids = [i.strip() for i in args.ids.split(",") if i.strip()] if args.ids else None
    n = render_file(args.data, args.output, predictions=args.predictions, ids=ids, limit=args.limit, schema=schema,
                    order=args.order, title=args.title)
    print(f"rendered {n} article(s) to {args.output}")
    return 0


# Headless Chromium, for screenshots of pages and for the tests; nothing here needs a network.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--virtual-time-budget=3000")


def find_chromium() -> str | None:
    """Path of a Chromium-family browser on PATH (Debian: `apt-get install chromium`), or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    browser = find_chromium()
    if browser is None:
        raise RasidConfigError("no Chromium found on PATH (Debian: apt-get install chromium fonts-noto-core)")
    with tempfile.TemporaryDirectory(prefix="rasid-chromium-") as profile:
        cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RasidConfigError(f"chromium failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done


def chromium_screenshot(html_path: str | Path, png_path: str | Path, width: int = 1400, height: int = 1000, scale: float = 1.0,
                        timeout: float = 90) -> Path:
    """A PNG of the page's first `width` x `height` CSS pixels."""
    png_path = Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    _chromium([f"--screenshot={png_path}", f"--window-size={width},{height}", f"--force-device-scale-factor={scale}",
               Path(html_path).resolve().as_uri()], timeout)
    if not png_path.exists():
        raise RasidConfigError(f"chromium wrote no screenshot to {png_path}")
    return png_path


def chromium_dump_dom(html_path: str | Path, width: int = 1400, height: int = 1000, timeout: float = 90) -> str:
    """The page's DOM after its scripts ran (layout at the given window size)."""
    return _chromium(["--dump-dom", f"--window-size={width},{height}", Path(html_path).resolve().as_uri()], timeout).stdout
