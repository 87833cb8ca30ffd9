"""Label Studio export <-> articles, on exports a real Label Studio 1.23.2 server wrote.

The fixtures (tests/fixtures/labelstudio/, see its README) come from
scripts/make_labelstudio_fixtures.py; no server is needed here.
"""

from __future__ import annotations

import copy
import json
import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasid.articles import Article, Entity, Relation, article_from_dict
from rasid.errors import RasidDataError
from rasid.labelstudio import articles_to_tasks, config_differences, export_to_articles, labeling_config, read_export
from rasid.labelstudio.convert import META_KEY
from rasid.schema import load_schema

FIXTURES = Path(__file__).parent / "fixtures" / "labelstudio"
EXPORT = FIXTURES / "export.json"
T1, T2, T3, T4, T5 = (
    "JA-internationalNews-480-20160402",
    "JA-internationalNews-854-20170505",
    "JA-internationalNews-238-20170211",
    "JA-internationalNews-689-20170413",
    "JA-internationalNews-496-20160207",
)


@pytest.fixture(scope="module")
def schema():
    return load_schema()


@pytest.fixture(scope="module")
def tasks():
    return read_export(EXPORT)


@pytest.fixture(scope="module")
def articles(tasks, schema):
    return {a.id: a for a in export_to_articles(tasks, schema, source_path=EXPORT)}


def facts(article: Article) -> set[tuple[str, str, str]]:
    by_id = article.entity_by_id()
    return {(by_id[r.head].text, r.label, by_id[r.tail].text) for r in article.relations}


def spans(article: Article) -> list[tuple[int, int, str, str]]:
    return [(e.start, e.end, e.label, e.text) for e in article.entities]


def dicts(articles) -> list[dict]:
    return [a.to_dict() for a in articles]


# --- the real export ----------------------------------------------------------------------------


def test_annotated_tasks_become_articles_and_the_unannotated_one_is_counted(tasks, schema, caplog):
    with caplog.at_level(logging.INFO, logger="rasid.labelstudio.convert"):
        converted = export_to_articles(tasks, schema, source_path=EXPORT)
    assert [a.id for a in converted] == [T1, T2, T3, T4]  # T5 has predictions only
    assert "skipped 1 of 5 tasks" in caplog.text


def test_offsets_index_the_original_task_text(tasks, articles):
    text_by_id = {t["data"]["id"]: t["data"]["text"] for t in tasks}
    assert sum(len(a.entities) for a in articles.values()) == 8 + 15 + 14 + 8
    for article in articles.values():
        assert article.text == text_by_id[article.id]  # never normalised: NBSPs and newlines kept
        for e in article.entities:
            assert article.text[e.start : e.end] == e.text
    assert "\xa0" in articles[T1].text


def test_a_span_after_a_clitic_starts_after_it(articles):
    homs = [e for e in articles[T1].entities if e.text == "حمص"]
    assert len(homs) == 1 and homs[0].label == "LOC"
    text = articles[T1].text
    assert text[homs[0].start - 1 : homs[0].end] == "بحمص"


def test_latest_completed_annotation_wins(tasks, schema, articles):
    t1_annotations = next(t for t in tasks if t["data"]["id"] == T1)["annotations"]
    later = max(t1_annotations, key=lambda a: a["updated_at"])
    assert articles[T1].meta[META_KEY]["annotation_id"] == later["id"]
    assert len(articles[T1].entities) == 8
    assert facts(articles[T1]) == {("داعش", "CONTROLS", "تدمر")}

    first = {a.id: a for a in export_to_articles(tasks, schema, annotation="first")}
    assert first[T1].meta[META_KEY]["annotation_id"] != later["id"]
    assert [e.text for e in first[T1].entities] == ["فرانس برس", "جيش النظام السوري", "تدمر", "داعش"]
    assert first[T1].relations == []


def test_cancelled_annotation_is_skipped_even_when_latest(tasks, articles):
    t2 = next(t for t in tasks if t["data"]["id"] == T2)
    cancelled = [a for a in t2["annotations"] if a["was_cancelled"]]
    assert len(cancelled) == 1 and cancelled[0]["updated_at"] > max(a["updated_at"] for a in t2["annotations"] if not a["was_cancelled"])
    assert articles[T2].meta[META_KEY]["annotation_id"] != cancelled[0]["id"]
    assert len(articles[T2].entities) == 15


def test_relations_keep_their_direction(articles):
    assert facts(articles[T2]) == {
        ("القوات الجوية الروسية", "ATTACKED", "الدولة الإسلامية"),
        ("ألكسندر فومين", "MEMBER_OF", "وزارة الدفاع الروسية"),  # drawn 'left' from the ministry
        ("إدلب", "LOCATED_IN", "سوريا"),
        ("اللاذقية", "LOCATED_IN", "سوريا"),
    }
    # FIGHTS is symmetric and was drawn 'bi' from داعش: stored once, earlier mention as head
    assert facts(articles[T3]) == {
        ("قوات الأمن السعودية", "FIGHTS", "داعش"),
        ("المحاميد", "LOCATED_IN", "جدة"),
        ("الربوة", "LOCATED_IN", "المدينة المنورة"),
    }
    fights = next(r for r in articles[T3].relations if r.label == "FIGHTS")
    by_id = articles[T3].entity_by_id()
    assert by_id[fights.head].start < by_id[fights.tail].start
    assert facts(articles[T4]) == {
        ("داعش", "BASED_IN", "ننغرهار"),
        ("ننغرهار", "LOCATED_IN", "أفغانستان"),
        ("آدام ستامب", "MEMBER_OF", "البنتاغون"),
        ("الولايات المتحدة", "ATTACKED", "داعش"),
    }
    # the second البنتاغون, the one next to the spokesman, is the tail
    stump = next(r for r in articles[T4].relations if r.label == "MEMBER_OF")
    pentagons = sorted((e for e in articles[T4].entities if e.text == "البنتاغون"), key=lambda e: e.start)
    assert stump.tail == pentagons[1].id


def test_every_entity_type_and_the_task_fields_arrive(articles):
    labels = {e.label for a in articles.values() for e in a.entities}
    assert labels == {"LOC", "ARMED_GROUP", "OFFICIAL", "AGENCY"}
    meta = articles[T1].meta
    assert meta["license"] == "Apache-2.0" and meta["date"] == "2016-04-02" and meta["url"].startswith("http://www.jawharafm.net/")
    assert meta[META_KEY]["task_id"] == 1 and meta[META_KEY]["completed_by"] == 1
    assert all(e.score is None for a in articles.values() for e in a.entities)


def test_predictions_convert_with_scores(tasks, schema):
    predicted = {a.id: a for a in export_to_articles(tasks, schema, annotation="prediction")}
    assert set(predicted) == {T4, T5}
    t4 = predicted[T4]
    assert t4.meta[META_KEY]["model_version"] == "rasid-fixture-0.1"
    assert ("ولاية ننغرهار", "LOC") in {(e.text, e.label) for e in t4.entities}  # the model's mistake, kept
    assert all(e.score is not None and 0 < e.score <= 1 for e in t4.entities)
    assert {(r.label, r.score) for r in predicted[T5].relations} == {("FIGHTS", 0.71), ("LOCATED_IN", 0.64)}


def test_keep_unannotated_and_choose_by_user(tasks, schema, articles):
    kept = export_to_articles(tasks, schema, keep_unannotated=True)
    assert [a.id for a in kept][-1] == T5 and kept[-1].entities == [] and kept[-1].meta["title"]
    by_user = export_to_articles(tasks, schema, annotation=1)
    assert dicts(by_user) == dicts(articles.values())
    assert dicts(export_to_articles(tasks, schema, annotation="1")) == dicts(articles.values())  # as typed on a command line
    assert export_to_articles(tasks, schema, annotation=99) == []
    with pytest.raises(RasidDataError, match="unknown annotation choice"):
        export_to_articles(tasks, schema, annotation="best")


def test_quick_export_gives_the_same_articles_but_no_predictions(schema, articles):
    quick = read_export(FIXTURES / "export-quick.json")
    assert dicts(export_to_articles(quick, schema)) == dicts(articles.values())
    with pytest.raises(RasidDataError, match=rf"export-quick\.json, task 4 \(article {T4}\): predictions are exported as ids only"):
        export_to_articles(quick, schema, annotation="prediction", source_path=FIXTURES / "export-quick.json")


def test_json_min_export_gives_the_same_spans(schema, articles):
    rows = read_export(FIXTURES / "export-min.json")
    assert len(rows) == 5  # two rows of T1 joined back into one task
    from_min = export_to_articles(rows, schema)
    assert [a.id for a in from_min] == ["ls-1", "ls-2", "ls-3", "ls-4"]  # JSON-MIN overwrites the data id
    for article, full in zip(from_min, articles.values(), strict=True):
        assert spans(article) == spans(full)
        assert article.meta[META_KEY]["annotation_id"] == full.meta[META_KEY]["annotation_id"]


def test_committed_config_is_the_generated_one(schema):
    stored = (FIXTURES / "project-config.xml").read_text(encoding="utf-8")
    assert config_differences(schema, stored) == []
    assert stored.strip() == labeling_config(schema).strip()


# --- round trips --------------------------------------------------------------------------------


def test_export_articles_tasks_articles_is_identical(tasks, schema, articles):
    again = articles_to_tasks(list(articles.values()), schema)
    again = json.loads(json.dumps(again, ensure_ascii=False))  # as if written to a file and read back
    assert dicts(export_to_articles(again, schema)) == dicts(articles.values())
    # also through the JSONL article files the rest of rasid reads
    through_jsonl = [article_from_dict(json.loads(json.dumps(a.to_dict(), ensure_ascii=False))) for a in articles.values()]
    assert dicts(export_to_articles(articles_to_tasks(through_jsonl, schema), schema)) == dicts(articles.values())


def test_predictions_round_trip_with_scores(tasks, schema):
    predicted = export_to_articles(tasks, schema, annotation="prediction")
    rebuilt = articles_to_tasks(predicted, schema, as_predictions=True)
    assert all("predictions" in t and "annotations" not in t for t in rebuilt)
    assert rebuilt[0]["predictions"][0]["model_version"] == "rasid-fixture-0.1"
    assert dicts(export_to_articles(rebuilt, schema, annotation="prediction")) == dicts(predicted)


def test_prediction_tasks_carry_what_label_studio_imports(schema, articles):
    scored = copy.deepcopy(articles[T4])
    for i, e in enumerate(scored.entities):
        e.score = 0.5 + i / 100
    task = articles_to_tasks([scored], schema, as_predictions=True, model_version="v7")[0]
    prediction = task["predictions"][0]
    assert prediction["model_version"] == "v7" and prediction["score"] == pytest.approx(sum(e.score for e in scored.entities) / 8, abs=1e-4)
    regions = [r for r in prediction["result"] if r["type"] == "labels"]
    assert [r["score"] for r in regions] == [round(e.score, 4) for e in scored.entities]
    assert task["data"]["text"] == scored.text and task["data"]["id"] == T4 and task["data"]["license"] == "Apache-2.0"
    assert META_KEY not in task["data"]


# --- every problem names the file and the task ---------------------------------------------------


def _broken(tasks, edit) -> list[dict]:
    """T1 with one thing broken in its latest annotation."""
    task = copy.deepcopy(tasks[0])
    latest = max(task["annotations"], key=lambda a: a["updated_at"])
    edit(task, latest["result"])
    return [task]


def _span(result, text):
    return next(r for r in result if r["type"] == "labels" and r["value"]["text"] == text)


def _shift(task, result):
    _span(result, "حمص")["value"]["start"] -= 1


def _missing_region(task, result):
    result.append({"from_id": "nowhere", "to_id": _span(result, "تدمر")["id"], "type": "relation", "direction": "right", "labels": ["CONTROLS"]})


def _unknown_label(task, result):
    _span(result, "تدمر")["value"]["labels"] = ["GPE"]


def _two_labels(task, result):
    _span(result, "تدمر")["value"]["labels"] = ["LOC", "AGENCY"]


def _unknown_relation(task, result):
    next(r for r in result if r["type"] == "relation")["labels"] = ["OWNS"]


def _reversed_relation(task, result):
    next(r for r in result if r["type"] == "relation")["direction"] = "left"  # CONTROLS LOC -> ARMED_GROUP


def _unlabelled_relation(task, result):
    next(r for r in result if r["type"] == "relation")["labels"] = []


def _out_of_range(task, result):
    _span(result, "سانا")["value"]["end"] = len(task["data"]["text"]) + 3


def _foreign_result(task, result):
    result.append({"id": "c1", "from_name": "topic", "to_name": "text", "type": "choices", "value": {"choices": ["war"]}})


def _no_text(task, result):
    del task["data"]["text"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_shift, "says 'حمص' but the text at"),
        (_missing_region, "points to region 'nowhere'"),
        (_unknown_label, "label 'GPE', which the schema does not know"),
        (_two_labels, "several labels"),
        (_unknown_relation, "label 'OWNS', which the schema does not know"),
        (_reversed_relation, "CONTROLS cannot join LOC->ARMED_GROUP"),
        (_unlabelled_relation, "has no label"),
        (_out_of_range, "but the text has 639 characters"),
        (_foreign_result, "type 'choices'"),
        (_no_text, "no 'text' string"),
    ],
)
def test_each_problem_raises_naming_file_and_task(tasks, schema, edit, message):
    with pytest.raises(RasidDataError) as caught:
        export_to_articles(_broken(tasks, edit), schema, source_path="data/raw/export.json")
    assert str(caught.value).startswith("data/raw/export.json, task 1")
    assert message in str(caught.value)


def test_a_task_imported_twice_is_refused(tasks, schema):
    twice = [tasks[0], {**copy.deepcopy(tasks[0]), "id": 77}]
    with pytest.raises(RasidDataError, match=f"task 77 \\(article {T1}\\): article id '{T1}' is also used by task 1"):
        export_to_articles(twice, schema)


def test_reverse_refuses_articles_it_cannot_represent(schema, articles):
    bad = copy.deepcopy(articles[T1])
    bad.entities[0].text = "غير"
    with pytest.raises(RasidDataError, match=f"article {T1}.*says 'غير'"):
        articles_to_tasks([bad], schema)
    clash = copy.deepcopy(articles[T1])
    clash.meta["text"] = "x"
    with pytest.raises(RasidDataError, match="would overwrite"):
        articles_to_tasks([clash], schema)


def test_read_export_reports_bad_files(tmp_path):
    with pytest.raises(RasidDataError, match="no such file"):
        read_export(tmp_path / "missing.json")
    broken = tmp_path / "export.json"
    broken.write_text('[{"id": 1,', encoding="utf-8")
    with pytest.raises(RasidDataError, match=r"export\.json: not valid JSON"):
        read_export(broken)


# --- the labeling config ------------------------------------------------------------------------


def test_labeling_config_lists_every_schema_label(schema):
    root = ET.fromstring(labeling_config(schema))
    labels = root.find("Labels")
    assert labels.get("name") == "label" and labels.get("toName") == "text"
    assert {lab.get("value"): lab.get("background") for lab in labels} == {e.name: e.color for e in schema.entities}
    assert [rel.get("value") for rel in root.find("Relations")] == schema.relation_labels
    text = root.find(".//Text")
    assert (text.get("name"), text.get("value"), text.get("granularity")) == ("text", "$text", "symbol")
    assert "direction: rtl" in root.find("Style").text


def test_config_differences_finds_added_and_removed_labels(schema):
    xml = labeling_config(schema)
    assert config_differences(schema, xml) == []
    changed = xml.replace('<Label value="OFFICIAL"', '<Label value="PERSON"').replace('<Relation value="FIGHTS" />', "")
    assert config_differences(schema, changed) == [
        "entity label 'PERSON' is in the project but not in the schema",
        "entity label 'OFFICIAL' is in the schema but not in the project",
        "relation label 'FIGHTS' is in the schema but not in the project",
    ]


# --- property: any schema-valid article survives articles -> tasks -> articles ----------------------

SCHEMA = load_schema()
WORD = st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإىةًٌٍَُِّْـ", min_size=1, max_size=6)


@st.composite
def valid_articles(draw) -> Article:
    words = draw(st.lists(WORD, min_size=1, max_size=12))
    seps = draw(st.lists(st.sampled_from([" ", "\xa0", "\n", "، "]), min_size=len(words), max_size=len(words)))
    text, bounds = "", []
    for word, sep in zip(words, seps, strict=True):
        bounds.append((len(text), len(text) + len(word)))
        text += word + sep
    chosen = sorted(draw(st.sets(st.integers(0, len(words) - 1), max_size=len(words))))
    entities = [
        Entity(f"r{i}", *bounds[i], draw(st.sampled_from(SCHEMA.entity_labels)), text[slice(*bounds[i])], draw(st.none() | st.floats(0.01, 1.0)))
        for i in chosen
    ]
    relations, seen = [], set()
    for _ in range(draw(st.integers(0, 4))):
        if len(entities) < 2:
            break
        head, tail = draw(st.permutations(entities))[:2]
        options = [r for r in SCHEMA.relation_labels if SCHEMA.relation_allowed(r, head.label, tail.label)]
        if not options:
            continue
        label = draw(st.sampled_from(options))
        if label in SCHEMA.symmetric_relations and head.start > tail.start:
            head, tail = tail, head  # stored once, head first
        if (head.id, tail.id, label) not in seen:
            seen.add((head.id, tail.id, label))
            relations.append(Relation(head.id, tail.id, label, draw(st.none() | st.floats(0.01, 1.0))))
    meta = draw(st.none() | st.fixed_dictionaries({"source": st.just("test"), "date": st.just("2024-12-01")}))
    return Article(draw(st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True)), text, entities, relations, meta)


@settings(max_examples=150, deadline=None)
@given(article=valid_articles(), as_predictions=st.booleans())
def test_any_valid_article_survives_the_round_trip(article, as_predictions):
    tasks = json.loads(json.dumps(articles_to_tasks([article], SCHEMA, as_predictions=as_predictions)))
    [back] = export_to_articles(tasks, SCHEMA, annotation="prediction" if as_predictions else "latest", keep_unannotated=True)
    expected = article.to_dict()
    got = back.to_dict()
    got["meta"].pop(META_KEY)
    assert got == {**expected, "meta": expected.get("meta") or {}}
