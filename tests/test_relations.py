"""Relation candidates obey the schema, markers point at the right pieces, symmetric labels fold."""

from pathlib import Path

import pytest

from rasid.articles import Article, Entity, Relation
from rasid.config import RelationConfig
from rasid.relations.candidates import Candidate, candidate_pairs, canonical_relations, gold_labels
from rasid.relations.markers import mark_window, window_ranges
from rasid.relations.pipeline import article_windows, collate_pairs, training_examples
from rasid.text import normalize_for_model

TEXT = "قصفت قوات التحالف مواقع الحوثيين في صنعاء.\nوقال المتحدث أحمد عسيري إن المقاومة الشعبية سيطرت على عدن."


def E(eid, s, label, nth=0):
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(s, start + 1)
    return Entity(eid, start, start + len(s), label, s)


@pytest.fixture
def article():
    ents = [E("e1", "قوات التحالف", "ARMED_GROUP"), E("e2", "الحوثيين", "ARMED_GROUP"), E("e3", "صنعاء", "LOC"),
            E("e4", "أحمد عسيري", "OFFICIAL"), E("e5", "المقاومة الشعبية", "ARMED_GROUP"), E("e6", "عدن", "LOC")]
    rels = [Relation("e1", "e2", "ATTACKED"), Relation("e1", "e3", "ATTACKED"), Relation("e5", "e6", "CONTROLS"),
            Relation("e1", "e5", "ALLIED_WITH")]
    return Article("a", TEXT, ents, rels)


@pytest.fixture(scope="module")
def tokenizer():
    import semantra_multilingual
    from transformers import PreTrainedTokenizerFast

    path = Path(semantra_multilingual.__file__).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"
    return PreTrainedTokenizerFast(tokenizer_file=str(path), bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
                                   cls_token="<s>", sep_token="</s>")


def test_candidates_follow_schema_and_distance(article, schema):
    cands = candidate_pairs(article, schema, max_distance=1000, sentence_window=1)
    ents = article.entities
    for c in cands:
        assert schema.pair_allowed(ents[c.head].label, ents[c.tail].label)
    pairs = {(ents[c.head].id, ents[c.tail].id) for c in cands}
    assert ("e3", "e6") in pairs and ("e6", "e3") in pairs  # LOC-LOC: LOCATED_IN either way
    assert ("e4", "e1") in pairs  # OFFICIAL → ARMED_GROUP (MEMBER_OF)
    assert ("e1", "e4") in pairs  # ARMED_GROUP → OFFICIAL: ATTACKED may target an official
    two = "التقى أحمد عسيري رامي عبد الرحمن"
    officials = Article("o", two, [Entity("p1", 6, 16, "OFFICIAL", "أحمد عسيري"), Entity("p2", 17, 32, "OFFICIAL", "رامي عبد الرحمن")])
    assert candidate_pairs(officials, schema, 1000, 1) == []  # no relation joins two officials
    near = candidate_pairs(article, schema, max_distance=20, sentence_window=1)
    assert all(abs(ents[c.head].start - ents[c.tail].start) < 60 for c in near)
    same_sentence = candidate_pairs(article, schema, max_distance=1000, sentence_window=0)
    assert Candidate(0, 5) not in same_sentence and Candidate(0, 5) in cands


def test_gold_labels_symmetric_both_ways(article, schema):
    cands = [Candidate(0, 4), Candidate(4, 0), Candidate(0, 1), Candidate(1, 0)]
    assert gold_labels(article, cands, schema) == ["ALLIED_WITH", "ALLIED_WITH", "ATTACKED", None]


def test_canonical_relations_fold_symmetric_once_in_text_order(article, schema):
    ents = article.entities
    scored = [(Candidate(4, 0), "ALLIED_WITH", 0.9), (Candidate(0, 4), "ALLIED_WITH", 0.8), (Candidate(1, 0), "ATTACKED", 0.7),
              (Candidate(2, 3), "CONTROLS", 0.99)]  # LOC → OFFICIAL is not a CONTROLS pair: dropped
    rels = canonical_relations(ents, scored, schema)
    assert [(r.head, r.label, r.tail) for r in rels] == [("e1", "ALLIED_WITH", "e5"), ("e2", "ATTACKED", "e1")]
    assert rels[0].score == 0.9


def test_markers_point_at_each_entity_and_keep_offsets(article, tokenizer):
    before = [(e.start, e.end, e.text) for e in article.entities]
    win = mark_window(TEXT, article.entities, list(range(6)), (0, len(TEXT)), tokenizer, normalize=True)
    tokens = tokenizer.convert_ids_to_tokens(win.input_ids)
    assert set(win.marker_pos) == set(range(6))
    for k, pos in win.marker_pos.items():
        # the position is the entity's first piece; the typed opening marker comes just before it
        first = tokens[pos].lstrip("\u2581")
        assert first and normalize_for_model(article.entities[k].text)[0].startswith(first[:1])
        before_it = "".join(tokens[max(0, pos - 6) : pos]).replace("\u2581", "")
        assert before_it.endswith("*") and "@" in before_it
        assert article.entities[k].label.lower().split("_")[0] in before_it
    assert [(e.start, e.end, e.text) for e in article.entities] == before
    assert all(TEXT[e.start : e.end] == e.text for e in article.entities)


def test_windows_cover_a_long_article_and_fit(tokenizer, schema):
    sentence = "قصفت قوات التحالف مواقع الحوثيين في صنعاء وسيطرت المقاومة الشعبية على عدن. "
    text = sentence * 40
    ents = []
    for i in range(40):
        base = i * len(sentence)
        for s, lab in (("قوات التحالف", "ARMED_GROUP"), ("الحوثيين", "ARMED_GROUP"), ("صنعاء", "LOC"), ("عدن", "LOC")):
            st = base + sentence.index(s)
            ents.append(Entity(f"e{len(ents)}", st, st + len(s), lab, s))
    art = Article("long", text, ents, [])
    cands = candidate_pairs(art, schema, max_distance=120, sentence_window=1)
    windows = article_windows(art, cands, tokenizer, max_length=128, normalize=True)
    placed = [c for w in windows for c in w.candidates]
    assert sorted(placed, key=lambda c: (c.head, c.tail)) == sorted(cands, key=lambda c: (c.head, c.tail))
    assert all(len(w.input_ids) <= 128 for w in windows)
    assert len(windows) < len(cands) / 4  # one encoder pass serves many pairs
    ranges = window_ranges(text, [0] + [i * len(sentence) for i in range(1, 40)], 300)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(text)


def test_training_examples_sample_negatives(article, tokenizer, schema):
    cfg = RelationConfig(max_distance=1000, negative_ratio=1.0)
    examples, counts = training_examples([article], schema, tokenizer, cfg, normalize=True, seed=1)
    assert counts["ATTACKED"] == 2 and counts["CONTROLS"] == 1
    n_pos = sum(v for k, v in counts.items() if k != "NONE")
    assert counts["NONE"] <= n_pos + 1
    batch = collate_pairs(examples, pad_id=1)
    assert batch["pairs"].shape[1] == 3 and len(batch["labels"]) == batch["pairs"].shape[0]


def test_partner_cap_keeps_the_nearest_and_never_adds(article, schema):
    every = candidate_pairs(article, schema, max_distance=1000, sentence_window=5)
    capped = candidate_pairs(article, schema, max_distance=1000, sentence_window=5, max_partners=1)
    assert set(capped) < set(every)
    ents = article.entities
    for i in range(len(ents)):
        partners = {c.tail for c in every if c.head == i} | {c.head for c in every if c.tail == i}
        if not partners:
            continue
        nearest = min(partners, key=lambda j: (max(ents[i].start, ents[j].start) - min(ents[i].end, ents[j].end), j))
        assert any({c.head, c.tail} == {i, nearest} for c in capped)


def test_threshold_selects_pairs_and_folds_them(article, schema):
    from rasid.relations.pipeline import select_relations

    scored = [[(Candidate(1, 0), "ATTACKED", 0.7), (Candidate(4, 0), "ALLIED_WITH", 0.3), (Candidate(0, 4), "ALLIED_WITH", 0.2)]]
    high = select_relations([article], scored, schema, 0.5)[0]
    low = select_relations([article], scored, schema, 0.25)[0]
    assert [(r.head, r.label, r.tail) for r in high] == [("e2", "ATTACKED", "e1")]
    assert [(r.head, r.label, r.tail) for r in low] == [("e1", "ALLIED_WITH", "e5"), ("e2", "ATTACKED", "e1")]


def test_the_chosen_threshold_is_saved_with_the_classifier(tmp_path, schema):
    from transformers import BertConfig, BertModel

    from rasid.relations.model import RelationClassifier

    encoder = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32),
                        add_pooling_layer=False)
    model = RelationClassifier(encoder, schema.relation_labels)
    model.threshold = 0.35
    model.save(tmp_path / "rel")
    assert RelationClassifier.load(tmp_path / "rel").threshold == 0.35
