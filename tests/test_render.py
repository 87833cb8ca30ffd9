"""The HTML visualiser: escaping and structure here; layout, bidi, joining and colours in headless Chromium."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasid.article_diff import MISSED, OK, SPURIOUS, WRONG_BOUNDARY, WRONG_TYPE, diff_article, entity_confusion, worst_articles
from rasid.articles import Article, Entity, Relation, read_articles, write_articles
from rasid.errors import RasidDataError
from rasid.gazetteer import build_gazetteer, gazetteer_predict
from rasid.render import chromium_dump_dom, chromium_screenshot, find_chromium, highlight_text, render_article_html, render_file
from rasid.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]
NEWSFANE_TEST = ROOT / "data" / "newsfane" / "test.jsonl"
SCHEMA = load_schema()
COLORS = {e.name: e.color for e in SCHEMA.entities}

# A clitic-attached name (وب + الموصل), a two-word name, a symmetric and a directed relation, and markup in the text.
CLITIC_TEXT = 'سيطرت قوات الجيش على تل أبيض وبالموصل، واشتبكت مع داعش <img src=x onerror="alert(1)"> & "ok".'


def _span(text: str, needle: str, eid: str, label: str, score: float | None = None) -> Entity:
    start = text.index(needle)
    return Entity(eid, start, start + len(needle), label, needle, score)


def clitic_article() -> Article:
    t = CLITIC_TEXT
    ents = [_span(t, "قوات الجيش", "e0", "ARMED_GROUP"), _span(t, "تل أبيض", "e1", "LOC"),
            _span(t, "الموصل", "e2", "LOC"), _span(t, "داعش", "e3", "ARMED_GROUP")]
    rels = [Relation("e0", "e1", "CONTROLS"), Relation("e0", "e3", "FIGHTS")]
    return Article("hand<made>&1", t, ents, rels, meta={"source": "<script>alert(2)</script>"})


def clitic_prediction() -> Article:
    t = CLITIC_TEXT
    ents = [_span(t, "قوات الجيش", "p0", "ARMED_GROUP", 0.97), _span(t, "تل", "p1", "LOC", 0.6),
            _span(t, "وبالموصل", "p2", "LOC", 0.8), _span(t, "داعش", "p3", "AGENCY", 0.7), _span(t, "سيطرت", "p4", "OFFICIAL", 0.51)]
    rels = [Relation("p0", "p3", "FIGHTS", 0.9), Relation("p3", "p0", "ATTACKED", 0.55)]
    return Article("hand<made>&1", t, ents, rels)


def real_article() -> Article:
    return next(a for a in read_articles(NEWSFANE_TEST) if len(a.entities) >= 5)


class _Text(HTMLParser):
    """Text of the highlighted body, without label tags, SVG or the relation list; checks nesting."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.stack, self.skip, self.marks = [], [], 0, []

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        self.stack.append(tag)
        if tag in ("svg", "ol") or "tag" in cls.split():
            self.skip += 1
        elif tag == "mark":
            self.marks.append(dict(attrs))
        self.stack[-1] = (tag, tag in ("svg", "ol") or "tag" in cls.split())

    def handle_endtag(self, tag):
        open_tag, skipping = self.stack.pop()
        assert open_tag == tag, f"</{tag}> closes <{open_tag}>"
        if skipping:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def _body_text(fragment: str) -> tuple[str, list[dict]]:
    p = _Text()
    p.feed(fragment)
    p.close()
    assert not p.stack, "unclosed elements"
    return "".join(p.parts), p.marks


# ---- pure HTML ------------------------------------------------------------------------------------

def test_highlight_keeps_text_and_marks_every_entity():
    art = clitic_article()
    fragment = highlight_text(art.text, art.entities, COLORS)
    text, marks = _body_text(fragment)
    assert text == art.text
    assert sorted(m["data-eid"] for m in marks) == ["e0", "e1", "e2", "e3"]
    # the clitic stays outside the mark but nothing (no tag) is put between it and the name
    assert "وب<mark" in fragment
    # the LOC tag of الموصل comes after the end of the word, i.e. after the comma-free end
    assert re.search(r"الموصل</mark><span class=\"tag\"[^>]*>LOC</span>،", fragment)


def test_tag_goes_after_the_word_when_an_entity_ends_inside_it():
    text = "في العراقيين اليوم"
    ent = Entity("e0", 3, 9, "LOC", "العراق")
    fragment = highlight_text(text, [ent], COLORS)
    assert "العراق</mark>يين<span" in fragment


def test_page_is_rtl_utf8_and_escapes_everything():
    page = render_article_html(clitic_article(), SCHEMA, predicted=clitic_prediction(), title="<b>t</b>")
    assert page.startswith("<!DOCTYPE html>")
    assert '<html dir="rtl" lang="ar">' in page and '<meta charset="utf-8">' in page
    assert "<img" not in page and "<script>alert" not in page and "<b>t</b>" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "hand&lt;made&gt;&amp;1" in page
    assert "Noto Naskh Arabic" in page
    # no network: nothing refers to another origin, and the CSP forbids it anyway
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "default-src 'none'" in page


def test_side_by_side_marks_differences():
    page = render_article_html(clitic_article(), SCHEMA, predicted=clitic_prediction())
    gold_html, pred_html = page.split('data-side="pred"')
    gold_html = gold_html.split('data-side="gold"')[1]
    assert 'class="ent first s-wrong_boundary" data-eid="e1"' in gold_html  # تل أبيض vs predicted تل
    assert 'class="ent first s-wrong_boundary" data-eid="e2"' in gold_html  # الموصل vs وبالموصل
    assert 'class="ent first s-wrong_type" data-eid="e3"' in gold_html
    assert 'class="ent first s-ok" data-eid="e0"' in gold_html
    assert 'class="ent first s-spurious" data-eid="p4"' in pred_html
    assert 'title="OFFICIAL · p4 · score 0.51 · spurious"' in pred_html
    assert 'data-label="CONTROLS" data-sym="0" data-status="missed"' in gold_html
    assert 'data-label="FIGHTS" data-sym="1" data-status="missed"' in gold_html  # داعش is AGENCY on the other side
    assert 'data-label="ATTACKED" data-sym="0" data-status="spurious"' in pred_html


def test_render_file_many_articles_with_index_and_order(tmp_path):
    gold = list(read_articles(NEWSFANE_TEST))[:6]
    gold_path, pred_path = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    write_articles(gold_path, gold)
    gazetteer = build_gazetteer(read_articles(ROOT / "data" / "newsfane" / "train.jsonl"))
    write_articles(pred_path, gazetteer_predict(gold, gazetteer))
    out = tmp_path / "page.html"
    assert render_file(gold_path, out, predictions=pred_path, order="worst", limit=4) == 4
    page = out.read_text(encoding="utf-8")
    assert page.count('<section class="article"') == 4 and '<table class="index"' in page
    ids = re.findall(r'<section class="article" id="a-([^"]+)"', page)
    errors = [int(n) for n in re.findall(r"· (\d+) errors</div>", page)]
    assert errors == sorted(errors, reverse=True) and len(ids) == 4
    assert render_file(gold_path, out, ids=[gold[2].id, gold[0].id]) == 2
    assert re.findall(r'<section class="article" id="a-([^"]+)"', out.read_text(encoding="utf-8")) == [gold[2].id, gold[0].id]
    with pytest.raises(RasidDataError, match="no article with id"):
        render_file(gold_path, out, ids=["nope"])


def test_render_file_rejects_predictions_of_other_text(tmp_path):
    art = clitic_article()
    gold_path, pred_path = tmp_path / "g.jsonl", tmp_path / "p.jsonl"
    write_articles(gold_path, [art])
    write_articles(pred_path, [Article(art.id, art.text + " ", [], [])])
    with pytest.raises(RasidDataError, match="differs from the gold text"):
        render_file(gold_path, tmp_path / "x.html", predictions=pred_path)


@st.composite
def text_and_spans(draw):
    text = draw(st.text(alphabet="بلوالموصل <>&\"' \n،", min_size=1, max_size=40))
    n = draw(st.integers(0, 5))
    ents = []
    for i in range(n):
        a = draw(st.integers(0, len(text) - 1))
        b = draw(st.integers(a + 1, len(text)))
        ents.append(Entity(f"e{i}", a, b, draw(st.sampled_from(SCHEMA.entity_labels)), text[a:b]))
    return text, ents


@settings(max_examples=200, deadline=None)
@given(text_and_spans())
def test_highlight_is_well_formed_and_lossless_for_any_spans(case):
    # overlapping and crossing spans too: marks nest properly and the text comes back unchanged
    text, ents = case
    body, marks = _body_text(highlight_text(text, ents, COLORS))
    assert body == text
    assert {m["data-eid"] for m in marks if "first" in m["class"].split()} == {e.id for e in ents}


# ---- article_diff ---------------------------------------------------------------------------------

def test_diff_statuses_and_confusion():
    gold, pred = clitic_article(), clitic_prediction()
    d = diff_article(gold, pred, SCHEMA.symmetric_relations)
    assert d.gold_entities == {"e0": OK, "e1": WRONG_BOUNDARY, "e2": WRONG_BOUNDARY, "e3": WRONG_TYPE}
    assert d.pred_entities == {"p0": OK, "p1": WRONG_BOUNDARY, "p2": WRONG_BOUNDARY, "p3": WRONG_TYPE, "p4": SPURIOUS}
    assert d.gold_relations == [MISSED, MISSED] and d.pred_relations == [SPURIOUS, SPURIOUS]
    assert d.errors == 3 + 1 + 2 + 2
    conf = entity_confusion([(gold, pred)], SCHEMA.entity_labels)
    labels, rows = conf["labels"], conf["rows_gold_cols_pred"]
    at = lambda g, p: rows[labels.index(g)][labels.index(p)]  # noqa: E731
    assert at("LOC", "LOC") == 2 and at("ARMED_GROUP", "AGENCY") == 1 and at("O", "OFFICIAL") == 1
    assert sum(map(sum, rows)) == 5


def test_symmetric_relation_matches_either_order():
    gold = clitic_article()
    flipped = Article(gold.id, gold.text, gold.entities, [Relation("e3", "e0", "FIGHTS"), Relation("e1", "e0", "CONTROLS")])
    d = diff_article(gold, flipped, SCHEMA.symmetric_relations)
    assert d.gold_relations == [MISSED, OK] and d.pred_relations == [OK, SPURIOUS]
    assert worst_articles([(gold, gold), (gold, flipped)], n=1)[0][1] is flipped


# ---- headless Chromium ----------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(find_chromium() is None,
                                    reason="headless Chromium not installed (Debian: apt-get install chromium fonts-noto-core)")

# Appended to the page by the test only: measures layout and writes the facts into the DOM.
PROBE = """
<script>
(function () {
  function run() {
    var out = {dir: getComputedStyle(document.documentElement).direction, w: innerWidth, h: innerHeight, docs: []};
    document.querySelectorAll(".doc").forEach(function (doc) {
      var text = doc.querySelector(".text"), tb = text.getBoundingClientRect();
      var marks = Array.from(doc.querySelectorAll("mark.ent.first")).map(function (m) {
        var r = m.getClientRects()[0]; return {eid: m.dataset.eid, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
      });
      // the first character of the text: where the first line starts
      var walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT), first = null, node;
      while ((node = walker.nextNode())) { if (node.parentNode.closest("svg")) continue; if (node.data.trim()) { first = node; break; } }
      var r0 = document.createRange(); r0.setStart(first, 0); r0.setEnd(first, 1);
      var fc = r0.getBoundingClientRect();
      var svg = doc.querySelector("svg.arcs");
      out.docs.push({side: doc.dataset.side, text: {left: tb.left, right: tb.right, top: tb.top, bottom: tb.bottom},
                     first_char: {left: fc.left, right: fc.right}, marks: marks, tags: doc.querySelectorAll(".tag").length,
                     arcs: Number(svg.getAttribute("data-arcs") || 0),
                     arrows: Array.from(svg.querySelectorAll("path[marker-end]")).length,
                     paths: Array.from(svg.querySelectorAll("g.arc path")).length});
    });
    // Joining: the highlighted word must be exactly as wide as the same word without markup;
    // bidi isolation of the name (which breaks joining) must change the width, or the check proves nothing.
    var host = document.querySelector(".doc .text");
    function width(markup) {
      var s = document.createElement("span"); s.innerHTML = markup; host.appendChild(s);
      var w = s.getBoundingClientRect().width; host.removeChild(s); return w;
    }
    var mark = '<mark class="ent" style="--c:#2e86de">الموصل</mark>';
    out.join = {plain: width("وبالموصل"), marked: width("وب" + mark),
                isolated: width('وب<span style="unicode-bidi:isolate">الموصل</span>')};
    var pre = document.createElement("pre"); pre.id = "probe"; pre.hidden = true; pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(run); else run();
})();
</script>
"""


def _probe(page: str, path: Path, width: int, height: int) -> dict:
    path.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium_dump_dom(path, width=width, height=height)
    m = re.search(r'<pre id="probe"[^>]*>(.*?)</pre>', dom, re.S)
    assert m, "the probe script did not run:\n" + dom[-2000:]
    return json.loads(html.unescape(m.group(1)))


def _same_line_pairs(marks: list[dict]):
    for a, b in zip(marks, marks[1:], strict=False):
        if abs(a["top"] - b["top"]) < 2:
            yield a, b


@needs_chromium
@pytest.mark.timeout(300)
def test_chromium_real_article_layout_and_screenshot(tmp_path):
    art = real_article()
    page = render_article_html(art, SCHEMA)
    width, height = 1000, 1400
    facts = _probe(page, tmp_path / "probe.html", width, height)
    assert facts["dir"] == "rtl"
    (doc,) = facts["docs"]
    assert len(doc["marks"]) == len(art.entities) and doc["tags"] == len(art.entities)
    # right to left: the first line starts at the right edge, and of two highlights on one line the earlier is further right
    assert doc["text"]["right"] - doc["first_char"]["right"] < 25
    pairs = list(_same_line_pairs(doc["marks"]))
    assert pairs, "no two highlights on one line"
    assert all(a["left"] > b["right"] for a, b in pairs)

    page_path = tmp_path / "page.html"
    page_path.write_text(page, encoding="utf-8")
    png = chromium_screenshot(page_path, tmp_path / "page.png", width=width, height=height)
    from PIL import Image

    img = Image.open(png).convert("RGB")
    assert img.size == (width, height)
    pixels = img.load()
    # every label present in the visible part shows its highlight colour (28% of the colour over white)
    visible = {m["eid"] for m in doc["marks"] if m["bottom"] < height}
    labels = {e.label for e in art.entities if e.id in visible}
    for label in labels:
        c = tuple(int(ch, 16) for ch in re.findall("..", COLORS[label][1:]))
        want = tuple(round(0.28 * v + 0.72 * 255) for v in c)
        hits = sum(1 for x in range(0, width, 2) for y in range(0, height, 2)
                   if all(abs(p - q) <= 3 for p, q in zip(pixels[x, y], want, strict=True)))
        assert hits > 30, f"{label}: highlight colour {want} not on the screenshot"
    # text is right-aligned: ink on the first line of the article reaches the right edge of the text box
    t = doc["text"]
    top = int(t["top"]) + 30
    row_ink = [x for x in range(int(t["left"]), int(t["right"])) for y in range(top, top + 40, 2) if sum(pixels[x, y]) < 200]
    assert row_ink and t["right"] - max(row_ink) < 25


@needs_chromium
@pytest.mark.timeout(300)
def test_chromium_clitic_joining_arcs_and_side_by_side(tmp_path):
    page = render_article_html(clitic_article(), SCHEMA, predicted=clitic_prediction())
    facts = _probe(page, tmp_path / "probe.html", 1200, 800)
    j = facts["join"]
    assert abs(j["plain"] - j["marked"]) < 0.5, f"a highlight breaks Arabic joining: {j}"
    assert j["isolated"] - j["plain"] > 2, f"the font does not shape joined forms, so the check is void: {j}"
    gold, pred = facts["docs"]
    assert (gold["side"], pred["side"]) == ("gold", "pred")
    # in a right-to-left page the gold column is on the right
    assert gold["text"]["left"] > pred["text"]["right"]
    assert gold["arcs"] == 2 and gold["arrows"] == 1  # CONTROLS has an arrowhead, FIGHTS (symmetric) none
    assert pred["arcs"] == 2 and pred["arrows"] == 1
    assert len(gold["marks"]) == 4 and len(pred["marks"]) == 5


# ---- the CLI verb and the report plots --------------------------------------------------------------

def test_render_cmd_through_argparse(tmp_path, capsys):
    import argparse

    from rasid.render import add_render_arguments, render_cmd

    write_articles(tmp_path / "g.jsonl", [clitic_article()])
    write_articles(tmp_path / "p.jsonl", [clitic_prediction()])
    parser = argparse.ArgumentParser()
    add_render_arguments(parser)
    args = parser.parse_args([str(tmp_path / "g.jsonl"), "--predictions", str(tmp_path / "p.jsonl"), "-o", str(tmp_path / "o.html"),
                              "--order", "worst", "--limit", "1"])
    assert render_cmd(args) == 0
    assert "rendered 1 article(s)" in capsys.readouterr().out
    assert 'data-side="pred"' in (tmp_path / "o.html").read_text(encoding="utf-8")


def test_report_plots_write_every_png(tmp_path):
    from PIL import Image

    from rasid.evaluation import score_articles
    from rasid.plots import entity_error_counts, report_plots

    gold, pred = [clitic_article()], [clitic_prediction()]
    report = score_articles(gold, pred, SCHEMA)
    paths = report_plots(report, tmp_path, stem="r", gold=gold, pred=pred)
    assert [p.name for p in paths] == ["r-f1.png", "r-entity-errors.png", "r-entity-confusion.png", "r-relation-confusion.png"]
    assert all(Image.open(p).size[0] > 300 for p in paths)
    exact = entity_error_counts(report, gold, pred)
    assert exact == {"correct": 1, "wrong type": 1, "wrong boundary": 2, "spurious (touches no gold)": 1, "missed (touches no prediction)": 0}
    # from the report alone: the same where it can tell; no spurious count where precision 0 hides it
    alone = entity_error_counts(report)
    assert alone["correct"] == 1 and alone["wrong type"] == 1 and alone["wrong boundary"] == 2
    assert "spurious (touches no gold)" not in alone and alone["false negatives, all"] == 3
