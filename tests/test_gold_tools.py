"""The gold-corpus tools: resolver, selection, export (rasid.gold)."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasid.articles import read_articles
from rasid.errors import RasidDataError
from rasid.gold.corpora import DEFAULT_CORPORA_DIR, SourceArticle, read_ant
from rasid.gold.export import GoldPaths, build_gold, load_selection
from rasid.gold.resolve import load_annotation_file, parse_annotation, resolve_annotation, valid_occurrences
from rasid.gold.selection import SelectionConfig, assign_splits, candidates_from, select_articles
from rasid.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "data" / "gold"
SCHEMA = load_schema()

TEXT = "قوات الأسد تقصف وبحمص\nقال الأسد إن حمص ستبقى. وللجيش السوري في حمص مواقع"


def resolve(entities, relations=(), text=TEXT, ignore=(), path="t.yaml"):
    data = {"id": "t", "annotator": "a", "method": "m", "pass": 1, "entities": [list(e) for e in entities],
            "relations": [list(r) for r in relations], "ignore": [list(i) for i in ignore]}
    return resolve_annotation(parse_annotation(data, path), text, SCHEMA)


def spans(res):
    return {e.id: (e.start, e.end, e.text) for e in res.article.entities}


# --- resolver -----------------------------------------------------------------------------------

def test_repeats_take_successive_occurrences_and_clitics_stay_outside():
    res = resolve([("e1", "حمص", "LOC"), ("e2", "حمص", "LOC"), ("e3", "حمص", "LOC")])
    got = spans(res)
    assert [got[e][0] for e in ("e1", "e2", "e3")] == [TEXT.index("وبحمص") + 2, TEXT.index("إن حمص") + 3, TEXT.rindex("حمص")]
    assert all(t == "حمص" for _, _, t in got.values())
    assert res.warnings == []


def test_fused_lam_alif_span_starts_at_second_lam():
    res = resolve([("e1", "لجيش السوري", "ARMED_GROUP")], ignore=[("حمص",)])
    start, end, text = spans(res)["e1"]
    assert TEXT[start - 2 : start] == "ول" and text == "لجيش السوري"


def test_shorter_name_skips_occurrence_inside_longer_mention():
    res = resolve([("e1", "الأسد", "OFFICIAL"), ("e2", "قوات الأسد", "ARMED_GROUP")])
    got = spans(res)
    assert got["e2"][:2] == (0, 10)
    assert got["e1"][0] == TEXT.index("قال الأسد") + 4


def test_explicit_occurrence_number_and_left_context():
    res = resolve([("e1", "حمص", "LOC", 3), ("e2", "حمص", "LOC", "@1"), ("e3", "حمص", "LOC", "إن")])
    got = spans(res)
    assert got["e1"][0] == TEXT.rindex("حمص")
    assert got["e2"][0] == TEXT.index("حمص")
    assert got["e3"][0] == TEXT.index("إن حمص") + 3
    assert res.occurrence_of == {"e1": 3, "e2": 1, "e3": 2}


def test_missed_repeat_warns_with_occurrence_number_and_ignore_silences_it():
    res = resolve([("e1", "حمص", "LOC")])
    assert len(res.warnings) == 2 and "occurrence 2" in res.warnings[0] and "occurrence 3" in res.warnings[1]
    assert resolve([("e1", "حمص", "LOC")], ignore=[("حمص", 2), ("حمص", 3)]).warnings == []


def test_missed_repeat_found_across_spelling_variants():
    text = "أكد المرصد أن المرصد السوري لحقوق الانسان و المرصد السوري لحقوق الإنسان"
    res = resolve([("e1", "المرصد السوري لحقوق الإنسان", "AGENCY"), ("e2", "المرصد", "AGENCY")], text=text)
    assert any("لحقوق الانسان" in w for w in res.warnings)


@pytest.mark.parametrize(
    "entities, needle",
    [
        ([("e1", "دمشق", "LOC")], "not found"),
        ([("e1", "سد", "LOC")], "cuts a word"),  # inside الأسد
        ([("e1", "حم", "LOC")], "cuts a word"),  # stops inside حمص
        ([("e1", "حمص", "LOC", 9)], "3 valid occurrence"),
        ([("e1", "حمص", "LOC"), ("e2", "حمص", "LOC"), ("e3", "حمص", "LOC"), ("e4", "حمص", "LOC")], "no free occurrence"),
        ([("e1", "حمص", "PLACE")], "unknown label"),
        ([("e1", "الأسد", "OFFICIAL", 1), ("e2", "قوات الأسد", "ARMED_GROUP")], "overlaps entity e2"),
    ],
)
def test_resolver_errors_name_file_and_entity(entities, needle):
    with pytest.raises(RasidDataError) as err:
        resolve(entities, path="data/gold/annotations/t.yaml")
    msg = str(err.value)
    assert needle in msg and "data/gold/annotations/t.yaml" in msg and f"entity {entities[-1][0] if 'overlaps' not in needle else 'e1'}" in msg


def test_relation_with_bad_type_pair_is_refused_with_file_and_entity():
    with pytest.raises(RasidDataError) as err:
        resolve([("e1", "حمص", "LOC", 1), ("e2", "قوات الأسد", "ARMED_GROUP")], relations=[("e1", "CONTROLS", "e2")], ignore=[("حمص",)])
    msg = str(err.value)
    assert "t.yaml" in msg and "entity e1" in msg and "CONTROLS cannot join LOC" in msg and "swap head and tail" in msg


def test_relation_errors_unknown_entity_and_label():
    ents = [("e1", "قوات الأسد", "ARMED_GROUP"), ("e2", "حمص", "LOC", 1)]
    with pytest.raises(RasidDataError, match="e9 is not defined"):
        resolve(ents, relations=[("e1", "CONTROLS", "e9")], ignore=[("حمص",)])
    with pytest.raises(RasidDataError, match="unknown relation"):
        resolve(ents, relations=[("e1", "OWNS", "e2")], ignore=[("حمص",)])


def test_symmetric_relation_is_stored_head_first():
    res = resolve([("e1", "قوات الأسد", "ARMED_GROUP"), ("e2", "لجيش السوري", "ARMED_GROUP")], relations=[("e2", "FIGHTS", "e1")])
    rel = res.article.relations[0]
    assert (rel.head, rel.tail, rel.label) == ("e1", "e2", "FIGHTS")


def test_file_header_problems(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("id: y\nannotator: a\nmethod: m\npass: 1\nentities: []\n", encoding="utf-8")
    with pytest.raises(RasidDataError, match="does not match the file name"):
        load_annotation_file(bad)
    bad.write_text("id: x\nannotator: a\npass: 3\n", encoding="utf-8")
    with pytest.raises(RasidDataError, match="method"):
        load_annotation_file(bad)
    bad.write_text("id: x\nentities:\n  - [e1, \"حمص, LOC]\n", encoding="utf-8")
    with pytest.raises(RasidDataError, match="not valid YAML"):
        load_annotation_file(bad)


WORDS = ["حمص", "دمشق", "الرستن", "تلبيسة", "داعش", "الموصل"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(["", "و", "ب", "وب", "ل", "فل"])), min_size=1, max_size=12))
def test_every_listed_word_resolves_to_its_own_occurrence(words):
    text = " ".join(prefix + word for word, prefix in words) + "."
    ents = [(f"e{i}", word, "LOC") for i, (word, _) in enumerate(words)]
    res = resolve(ents, text=text)
    assert res.warnings == []
    got = sorted(res.article.entities, key=lambda e: e.start)
    assert [e.text for e in got] == [w for w, _ in words]
    for ent, (word, prefix) in zip(got, words, strict=True):
        assert text[ent.start : ent.end] == word and text[ent.start - len(prefix) : ent.start] == prefix
        assert ent.start in valid_occurrences(text, word)


# --- selection ------------------------------------------------------------------------------------

def _synthetic_articles() -> list[SourceArticle]:
    body = ("قال مصدر عسكري إن قوات الجيش سيطرت على مواقع بعد اشتباكات وقصف وغارات للتحالف، "
            "وأعلن المتحدث مقتل مسلحين في هجوم. ")
    places = {"yemen": "عدن صنعاء تعز الحوثي ", "syria": "حلب حمص دمشق إدلب ", "iraq": "الموصل بغداد الأنبار الرمادي "}
    out = []
    for i in range(60):
        conflict = list(places)[i % 3]
        outlet = ["okaz", "alriyadh", "aawsat"][i % 3 if i % 2 else (i + 1) % 3]
        text = f"عنوان {i}\n" + (places[conflict] * 2 + body * 4 + f" رقم {i} ") * 2
        text += " ".join(f"كلمة{i}_{k}" for k in range(40))
        out.append(SourceArticle(id=f"snn-{outlet}-{i}", text=text, author="الرياض - واس",
                                 meta={"source": outlet, "url": f"u{i}", "date": "2015-08-01", "license": "x", "corpus": "saudinewsnet"}))
    return out


def test_selection_is_deterministic_and_spreads_over_groups():
    config = SelectionConfig(quotas={("saudinewsnet", "yemen"): 4, ("saudinewsnet", "syria"): 4, ("saudinewsnet", "iraq"): 4}, dup_jaccard=0.95)
    first = [c.article.id for c in select_articles(candidates_from(_synthetic_articles(), config, set()), config)]
    second = [c.article.id for c in select_articles(candidates_from(list(reversed(_synthetic_articles())), config, set()), config)]
    assert len(first) == 12
    assert sorted(first) == sorted(second)
    excluded = {first[0]}
    third = [c.article.id for c in select_articles(candidates_from(_synthetic_articles(), config, excluded), config)]
    assert first[0] not in third


def test_wire_copies_are_deduplicated():
    arts = _synthetic_articles()[:3]
    copy = SourceArticle(id="snn-okaz-999", text=arts[0].text + " إضافة", author=arts[0].author, meta={**arts[0].meta, "source": "okaz", "url": "other"})
    config = SelectionConfig(quotas={("saudinewsnet", "yemen"): 5})
    chosen = select_articles(candidates_from([arts[0], copy], config, set()), config)
    assert len(chosen) == 1


def test_splits_are_stratified_and_deterministic():
    items = [(f"a{i}", f"s{i % 3}") for i in range(90)]
    config = SelectionConfig()
    one, two = assign_splits(items, config), assign_splits(list(items), config)
    assert one == two
    assert sorted(one["train"] + one["dev"] + one["test"]) == sorted(i for i, _ in items)
    for s in ("s0", "s1", "s2"):
        assert sum(1 for i in one["test"] if f"s{int(i[1:]) % 3}" == s) == round(30 * config.test_fraction)


@pytest.mark.skipif(not (DEFAULT_CORPORA_DIR / "ant" / "articles.jsonl").exists(), reason="shared corpora not present")
def test_selection_on_real_ant_sample_is_reproducible():
    sample = list(itertools.islice(read_ant(DEFAULT_CORPORA_DIR / "ant" / "articles.jsonl"), 400))
    config = SelectionConfig(quotas={("ant", "libya"): 3, ("ant", "syria"): 3, ("ant", "iraq"): 3})
    runs = [[c.article.id for c in select_articles(candidates_from(sample, config, set()), config)] for _ in range(2)]
    assert runs[0] == runs[1] and runs[0]
    texts = {a.id: a.text for a in sample}
    for art_id in runs[0]:
        assert "\n" in texts[art_id]  # title + "\n" + content, unnormalised


def test_committed_selection_meets_the_issue():
    selection = load_selection(GOLD / "selection.jsonl")
    assert len(selection) >= 170
    import yaml

    splits = yaml.safe_load((GOLD / "splits.yaml").read_text(encoding="utf-8"))
    assert len(splits["test"]) >= 35 and len(splits["dev"]) >= 18
    assert not set(splits["test"]) & set(splits["train"])
    assert {r["meta"]["license"] for r in selection.values()} == {"CC BY-NC-SA 4.0", "Apache-2.0"}


# --- export -----------------------------------------------------------------------------------------

def test_built_export_spans_match_text(tmp_path):
    root = tmp_path / "gold"
    root.mkdir()
    for name in ("selection.jsonl", "splits.yaml"):
        shutil.copy(GOLD / name, root / name)
    shutil.copytree(GOLD / "annotations", root / "annotations")
    paths = GoldPaths(root)
    result = build_gold(paths, SCHEMA)
    assert result.errors == [] and result.articles
    tasks = json.loads(paths.export.read_text(encoding="utf-8"))
    assert len(tasks) == len(result.articles)
    for task in tasks:
        text = task["data"]["text"]
        assert set(task["data"]) >= {"text", "id", "source", "url", "date", "license", "split"}
        regions = {r["id"]: r for r in task["annotations"][0]["result"] if r["type"] == "labels"}
        for r in regions.values():
            assert text[r["value"]["start"] : r["value"]["end"]] == r["value"]["text"]
            assert r["from_name"] == "label" and r["to_name"] == "text"
        for rel in (r for r in task["annotations"][0]["result"] if r["type"] == "relation"):
            assert rel["from_id"] in regions and rel["to_id"] in regions and rel["direction"] == "right"
    n = 0
    for split in ("train", "dev", "test"):
        for art in read_articles(paths.split_file(split)):
            n += 1
            assert all(art.text[e.start : e.end] == e.text for e in art.entities)
            assert art.meta["split"] == split
    assert n == len(result.articles)


def test_build_refuses_to_write_when_a_file_fails(tmp_path):
    root = tmp_path / "gold"
    (root / "annotations").mkdir(parents=True)
    for name in ("selection.jsonl", "splits.yaml"):
        shutil.copy(GOLD / name, root / name)
    art_id = next(iter(load_selection(root / "selection.jsonl")))
    (root / "annotations" / f"{art_id}.yaml").write_text(
        f"id: {art_id}\nannotator: a\nmethod: m\npass: 1\nentities:\n  - [e1, \"لا يوجد هذا النص\", LOC]\n", encoding="utf-8")
    result = build_gold(GoldPaths(root), SCHEMA)
    assert len(result.errors) == 1 and "entity e1" in result.errors[0] and art_id in result.errors[0]
    assert not (root / "gold_labelstudio.json").exists()


def test_export_reads_back_through_the_project_labelstudio_converter(tmp_path):
    convert = pytest.importorskip("rasid.labelstudio.convert")
    root = tmp_path / "gold"
    root.mkdir()
    for name in ("selection.jsonl", "splits.yaml"):
        shutil.copy(GOLD / name, root / name)
    shutil.copytree(GOLD / "annotations", root / "annotations")
    paths = GoldPaths(root)
    result = build_gold(paths, SCHEMA)
    back = {a.id: a for a in convert.export_to_articles(convert.read_export(paths.export), SCHEMA, source_path=paths.export)}
    assert set(back) == {a.id for a in result.articles}
    for art in result.articles:
        other = back[art.id]
        assert sorted((e.start, e.end, e.label) for e in other.entities) == sorted((e.start, e.end, e.label) for e in art.entities)
        span, span_back = ({e.id: (e.start, e.end) for e in a.entities} for a in (art, other))
        assert sorted((span_back[r.head], r.label, span_back[r.tail]) for r in other.relations) == sorted(
            (span[r.head], r.label, span[r.tail]) for r in art.relations)


def test_agreement_counts_exact_spans_and_symmetric_relations():
    from rasid.gold.agreement import compare_passes

    ents = [("e1", "قوات الأسد", "ARMED_GROUP"), ("e2", "لجيش السوري", "ARMED_GROUP")]
    a = resolve(ents, relations=[("e1", "FIGHTS", "e2")]).article
    b = resolve(ents + [("e3", "حمص", "LOC", 1)], relations=[("e2", "FIGHTS", "e1")], ignore=[("حمص",)]).article
    agreement = compare_passes([(a, b)], SCHEMA)
    assert agreement.entity_matches == 2 and agreement.entity_f1 == pytest.approx(0.8)
    assert agreement.relation_f1 == 1.0
