"""rasid.validate: one test per kind of problem; each names the file and the record."""

from __future__ import annotations

import json

import pytest

from rasid.articles import Article, Entity, Relation
from rasid.schema import load_schema
from rasid.validate import Problem, validate_articles, validate_file

SCHEMA = load_schema()
TEXT = "سيطرت هيئة تحرير الشام على الرستن"


def good(art_id="a1") -> dict:
    return {
        "id": art_id,
        "text": TEXT,
        "entities": [
            {"id": "e0", "start": 6, "end": 22, "label": "ARMED_GROUP", "text": "هيئة تحرير الشام"},
            {"id": "e1", "start": 27, "end": 33, "label": "LOC", "text": "الرستن"},
        ],
        "relations": [{"head": "e0", "tail": "e1", "label": "CONTROLS"}],
    }


def write(tmp_path, lines) -> str:
    path = tmp_path / "gold.jsonl"
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8"
    )
    return str(path)


def only_problem(tmp_path, article, needle, line=2) -> Problem:
    """Line 1 is a clean article; the broken one on `line` must give exactly one problem."""
    path = write(tmp_path, [good("ok"), article])
    problems = validate_file(path, SCHEMA)
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert needle in problem.message
    assert problem.path == path and problem.record.startswith(f"line {line}")
    assert str(problem).startswith(f"{path}, line {line}") and "\n" not in str(problem)
    return problem


def test_clean_file_has_no_problems(tmp_path):
    assert validate_file(write(tmp_path, [good("a"), good("b")]), SCHEMA) == []


def test_offsets_out_of_range(tmp_path):
    art = good()
    art["entities"][1].update(start=27, end=99)
    art["entities"][1].pop("text")
    p = only_problem(tmp_path, art, "out of range")
    assert "article a1" in p.record


def test_start_not_before_end(tmp_path):
    art = good()
    art["entities"][1].update(start=30, end=30)
    only_problem(tmp_path, art, "is not before end")


def test_span_text_mismatch(tmp_path):
    art = good()
    art["entities"][1]["text"] = "تلبيسة"
    only_problem(tmp_path, art, "does not match")


def test_overlapping_spans(tmp_path):
    art = good()
    art["relations"] = []
    art["entities"].append({"id": "e2", "start": 17, "end": 22, "label": "LOC", "text": "الشام"})
    only_problem(tmp_path, art, "overlap")


def test_unknown_entity_label(tmp_path):
    art = good()
    art["relations"] = []
    art["entities"][1]["label"] = "PERS"
    only_problem(tmp_path, art, "unknown entity label 'PERS'")


def test_unknown_relation_label(tmp_path):
    art = good()
    art["relations"][0]["label"] = "OWNS"
    only_problem(tmp_path, art, "unknown relation label 'OWNS'")


def test_relation_to_missing_entity(tmp_path):
    art = good()
    art["relations"][0]["tail"] = "e9"
    only_problem(tmp_path, art, "missing entity 'e9'")


def test_relation_between_forbidden_types(tmp_path):
    art = good()
    art["relations"][0]["label"] = "LOCATED_IN"  # LOC → LOC only; here ARMED_GROUP → LOC
    only_problem(tmp_path, art, "LOCATED_IN may not join ARMED_GROUP → LOC")


def test_duplicate_article_id(tmp_path):
    p = only_problem(tmp_path, good("ok"), "duplicate article id 'ok' (first at line 1)")
    assert p.record == "line 2 (article ok)"


def test_duplicate_entity_id(tmp_path):
    art = good()
    art["entities"][1]["id"] = "e0"
    art["relations"] = []
    only_problem(tmp_path, art, "duplicate entity id 'e0'")


def test_empty_text(tmp_path):
    only_problem(tmp_path, {"id": "blank", "text": "  ", "entities": [], "relations": []}, "empty text")


def test_bad_json_is_reported_and_the_rest_still_checked(tmp_path):
    broken = good("b")
    broken["entities"][1]["label"] = "CITY"
    path = write(tmp_path, [good("a"), '{"id": "x", "text": ', broken])
    problems = validate_file(path, SCHEMA)
    assert [p.record for p in problems] == ["line 2", "line 3 (article b)"]
    assert "not valid JSON" in problems[0].message and "unknown entity label 'CITY'" in problems[1].message


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    art = good()
    art["entities"][0]["label"] = "X"
    art["entities"][1]["text"] = "y"
    art["relations"].append({"head": "e0", "tail": "nope", "label": "NOPE"})
    problems = validate_file(write(tmp_path, [art]), SCHEMA)
    assert len(problems) == 4, [str(p) for p in problems]


def test_validate_articles_accepts_article_objects():
    art = Article(
        "m1",
        TEXT,
        [Entity("e0", 6, 22, "ARMED_GROUP", "هيئة تحرير الشام"), Entity("e1", 27, 33, "LOC", "الرستن")],
        [Relation("e0", "e1", "CONTROLS")],
    )
    assert validate_articles([("record 1", art)], SCHEMA, path="mem") == []
    bad = Article("m2", TEXT, [Entity("e0", 6, 22, "ARMED_GROUP", "غلط")])
    problems = validate_articles([("record 2", bad)], SCHEMA, path="mem")
    assert [str(p) for p in problems] == [
        "mem, record 2 (article m2): entity 'e0': text 'غلط' does not match text[6:22] = 'هيئة تحرير الشام'"
    ]


def test_missing_file_is_a_problem(tmp_path):
    problems = validate_file(tmp_path / "nope.jsonl", SCHEMA)
    assert len(problems) == 1 and "no such file" in str(problems[0])


@pytest.mark.parametrize("field", ["start", "end"])
def test_non_integer_offsets(tmp_path, field):
    art = good()
    art["entities"][1][field] = "27"
    only_problem(tmp_path, art, "must be integers")


def _ls_region(rid, start, end, text, label):
    return {"id": rid, "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text, "labels": [label]}}


def test_label_studio_export_is_checked_task_by_task(tmp_path):
    text = "قصف الجيش حمص"
    good = {"id": 7, "data": {"id": "a1", "text": text},
            "annotations": [{"id": 1, "result": [_ls_region("r1", 4, 9, "الجيش", "ARMED_GROUP"), _ls_region("r2", 10, 13, "حمص", "LOC")]}]}
    unknown = {"id": 8, "data": {"id": "a2", "text": text},
               "annotations": [{"id": 2, "result": [_ls_region("r1", 10, 13, "حمص", "CITY")]}]}
    twice = {"id": 9, "data": {"id": "a1", "text": text}, "annotations": [{"id": 3, "result": []}]}
    path = tmp_path / "export.json"
    path.write_text(json.dumps([good, unknown, twice], ensure_ascii=False), encoding="utf-8")

    problems = validate_file(path)

    assert [p.record.split(",")[0] for p in problems] == ["task 8 (article a2)", "task 9 (article a1)"]
    assert "CITY" in problems[0].message and "duplicate article id 'a1'" in problems[1].message
    assert all(p.path == str(path) for p in problems)


def test_the_shipped_gold_export_is_clean(root):
    assert validate_file(root / "data" / "gold" / "gold_labelstudio.json") == []
