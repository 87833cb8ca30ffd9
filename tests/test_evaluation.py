"""The metrics on hand-made cases with exact expected precision, recall and F1."""

import pytest

from rasid.articles import Article, Entity, Relation
from rasid.errors import RasidDataError
from rasid.evaluation import prf, score_articles, score_relations

TEXT = "سيطرت هيئة تحرير الشام على الرستن وتلبيسة قرب حمص"


def ent(eid, s, label):
    start = TEXT.index(s)
    return Entity(eid, start, start + len(s), label, s)


def gold_article():
    ents = [ent("e1", "هيئة تحرير الشام", "ARMED_GROUP"), ent("e2", "الرستن", "LOC"), ent("e3", "تلبيسة", "LOC"), ent("e4", "حمص", "LOC")]
    rels = [Relation("e1", "e2", "CONTROLS"), Relation("e1", "e3", "CONTROLS")]
    return Article("a1", TEXT, ents, rels)


def test_prf_exact_values():
    assert prf(2, 1, 1) == {"precision": 0.6667, "recall": 0.6667, "f1": 0.6667}
    assert prf(0, 0, 0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert prf(3, 1, 0) == {"precision": 0.75, "recall": 1.0, "f1": 0.8571}


def test_perfect_prediction_scores_one(schema):
    g = gold_article()
    r = score_articles([g], [gold_article()], schema)
    for key in ("entities", "entities_exact", "relations", "relation_facts"):
        assert r[key]["micro"]["f1"] == 1.0, key
    assert r["documents"] == 1


def test_entity_boundary_and_type_errors(schema):
    g = gold_article()
    p = gold_article()
    p.entities[1] = Entity("e2", TEXT.index("الرستن"), TEXT.index("الرستن") + 6, "ARMED_GROUP", "الرستن")  # wrong type
    s = TEXT.index("وتلبيسة")
    p.entities[2] = Entity("e3", s, s + 7, "LOC", "وتلبيسة")  # clitic included: wrong boundary, same word
    p.relations = []
    r = score_articles([g], [p], schema)
    # exact spans: 2 of 4 right
    assert r["entities_exact"]["micro"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert r["entities_exact"]["errors"] == {"wrong_type": 1, "wrong_boundary": 1}
    # seqeval over words: وتلبيسة is the same whitespace word, so only the type error counts
    assert r["entities"]["micro"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75}
    assert r["entities"]["per_label"]["LOC"]["support"] == 3


def test_relations_strict_and_facts(schema):
    g = gold_article()
    p = gold_article()
    # one right, one wrong label, one extra
    p.relations = [Relation("e1", "e2", "CONTROLS"), Relation("e1", "e3", "WITHDREW_FROM"), Relation("e2", "e4", "LOCATED_IN")]
    r = score_articles([g], [p], schema)
    assert r["relations"]["micro"] == {"precision": 0.3333, "recall": 0.5, "f1": 0.4}
    assert r["relations"]["per_label"]["CONTROLS"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    conf = r["relations"]["confusion"]
    row = conf["labels"].index("CONTROLS")
    assert conf["rows_gold_cols_pred"][row][conf["labels"].index("WITHDREW_FROM")] == 1
    assert r["relation_facts"]["micro"] == {"precision": 0.3333, "recall": 0.5, "f1": 0.4}
    assert score_relations([g], [p], schema) == r["relations"]  # the threshold sweep's scorer


def test_facts_count_once_and_normalise(schema):
    text = "قصفت قوات التحالف صنعاء ثم قصفت قوّات التحالف صنعاء"
    a = text.index("قوات التحالف")
    b = text.index("صنعاء")
    c = text.index("قوّات التحالف")
    d = text.rindex("صنعاء")
    ents = [Entity("e1", a, a + 12, "ARMED_GROUP", text[a : a + 12]), Entity("e2", b, b + 5, "LOC", "صنعاء"),
            Entity("e3", c, c + 13, "ARMED_GROUP", text[c : c + 13]), Entity("e4", d, d + 5, "LOC", "صنعاء")]
    gold = Article("x", text, ents, [Relation("e1", "e2", "ATTACKED"), Relation("e3", "e4", "ATTACKED")])
    pred = Article("x", text, ents, [Relation("e3", "e4", "ATTACKED")])
    r = score_articles([gold], [pred], schema)
    assert r["relations"]["micro"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667}
    # the diacritic in قوّات is normalised away: both gold relations are one fact, found
    assert r["relation_facts"]["micro"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_symmetric_relations_match_either_order(schema):
    text = "اشتباكات بين المقاومة الشعبية والحوثيين"
    a, b = text.index("المقاومة الشعبية"), text.index("الحوثيين")
    ents = [Entity("e1", a, a + 16, "ARMED_GROUP", "المقاومة الشعبية"), Entity("e2", b, b + 8, "ARMED_GROUP", "الحوثيين")]
    gold = Article("s", text, ents, [Relation("e1", "e2", "FIGHTS")])
    pred = Article("s", text, ents, [Relation("e2", "e1", "FIGHTS")])
    r = score_articles([gold], [pred], schema)
    assert r["relations"]["micro"]["f1"] == 1.0
    assert r["relation_facts"]["micro"]["f1"] == 1.0
    directed = Article("s", text, ents, [Relation("e2", "e1", "ATTACKED")])
    gold2 = Article("s", text, ents, [Relation("e1", "e2", "ATTACKED")])
    assert score_articles([gold2], [directed], schema)["relations"]["micro"]["f1"] == 0.0


def test_missing_prediction_and_missing_endpoint_are_clear(schema):
    g = gold_article()
    with pytest.raises(RasidDataError, match="no prediction for article a1"):
        score_articles([g], [], schema, where="gold.jsonl")
    bad = gold_article()
    bad.relations = [Relation("e1", "e9", "CONTROLS")]
    with pytest.raises(RasidDataError, match="missing entity 'e9'"):
        score_articles([g], [bad], schema)


def test_articles_without_entities_are_fine(schema):
    a = Article("empty", "لا شيء هنا")
    r = score_articles([a], [Article("empty", "لا شيء هنا")], schema)
    assert r["entities"]["micro"]["f1"] == 0.0 and r["documents"] == 1
