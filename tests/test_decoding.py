"""rasid.ner.decoding: BIO repair, span trimming and extension, word-level IOB2 tags."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rasid.articles import Entity
from rasid.ner.alignment import align_labels, encode_for_model
from rasid.ner.decoding import decode_entities, spans_to_word_tags, tags_to_spans
from rasid.text import whitespace_words
from test_alignment import TAG2ID, TAGS, TOKENIZER, perfect_probs


def probs_for(tags, p=0.9):
    probs = np.full((len(tags), len(TAGS)), (1 - p) / (len(TAGS) - 1), dtype=np.float32)
    for i, t in enumerate(tags):
        probs[i, TAGS.index(t)] = p
    return probs


def test_bio_repair():
    assert tags_to_spans(["I-LOC", "I-LOC", "O", "I-AGENCY"]) == [(0, 2, "LOC"), (3, 4, "AGENCY")]
    assert tags_to_spans(["B-LOC", "I-AGENCY", "I-AGENCY"]) == [(0, 1, "LOC"), (1, 3, "AGENCY")]
    assert tags_to_spans(["B-LOC", "B-LOC", "I-LOC"]) == [(0, 1, "LOC"), (1, 3, "LOC")]
    assert tags_to_spans(["O", "O"]) == [] and tags_to_spans([]) == []


def test_adjacent_entities_without_space():
    # a clitic-free junction: two pieces, two types, no character between them
    text = "حمصداعش"
    ents = decode_entities(probs_for(["B-LOC", "B-ARMED_GROUP"]), [(0, 3), (3, 7)], text, TAGS)
    assert [(e["start"], e["end"], e["label"], e["text"]) for e in ents] == [(0, 3, "LOC", "حمص"), (3, 7, "ARMED_GROUP", "داعش")]
    assert all(abs(e["score"] - 0.9) < 1e-6 for e in ents)


def test_adjacent_entities_across_a_clitic_with_the_real_tokenizer():
    text = "دمشق،ولحزب الله"
    enc = encode_for_model(TOKENIZER, text)
    tags = []
    for s, _ in enc.token_spans:
        tags.append("B-LOC" if s == 0 else "I-LOC" if 0 < s < 4 else "B-ARMED_GROUP" if s == 7 else "I-ARMED_GROUP" if s > 7 else "O")
    ents = decode_entities(probs_for(tags), enc.token_spans, text, TAGS)
    assert [(e["text"], e["label"]) for e in ents] == [("دمشق", "LOC"), ("حزب الله", "ARMED_GROUP")]


def test_quotes_and_spaces_stay_outside():
    text = "في «حمص» "
    token_spans = [(0, 2), (3, 5), (5, 7), (7, 8)]  # «ح | مص | » as a tokenizer might cut them
    ents = decode_entities(probs_for(["O", "B-LOC", "I-LOC", "I-LOC"]), token_spans, text, TAGS)
    assert [(e["start"], e["end"], e["text"]) for e in ents] == [(4, 7, "حمص")]
    # a span of nothing but quote marks and spaces disappears
    assert decode_entities(probs_for(["O", "O", "O", "B-LOC"]), token_spans, text, TAGS) == []


def test_trailing_marks_are_kept():
    # the raw e5 tokenizer puts the shadda+fatha of إنَّ outside the first piece (toolchain notes)
    text = "إنَّ حمصَ"
    ents = decode_entities(probs_for(["B-OFFICIAL", "B-LOC"]), [(0, 2), (5, 8)], text, TAGS)
    assert [e["text"] for e in ents] == ["إنَّ", "حمصَ"]
    raw = encode_for_model(TOKENIZER, text, normalize=False)
    assert raw.token_spans[0] == (0, 4)  # offsets are extended at alignment time too


def test_empty_and_blank_text():
    assert decode_entities(np.zeros((0, len(TAGS))), [], "", TAGS) == []
    enc = encode_for_model(TOKENIZER, "   \n ")
    assert decode_entities(probs_for(["B-LOC"] * len(enc)), enc.token_spans, enc.text, TAGS) == []
    assert spans_to_word_tags("", []) == [] and spans_to_word_tags("   ", []) == []


def test_entity_at_the_very_end():
    text = "سيطرت القوات على الرستن"
    enc = encode_for_model(TOKENIZER, text)
    start = text.index("الرستن")
    tags = ["O" if s < start else "B-LOC" if s == start else "I-LOC" for s, _ in enc.token_spans]
    ents = decode_entities(probs_for(tags), enc.token_spans, text, TAGS)
    assert [(e["start"], e["end"]) for e in ents] == [(start, len(text))]


def test_id2tag_mapping_and_shape_check():
    id2tag = dict(enumerate(TAGS))
    ents = decode_entities(probs_for(["B-LOC"]), [(0, 3)], "حمص", id2tag)
    assert ents[0]["label"] == "LOC"
    try:
        decode_entities(probs_for(["B-LOC"]), [(0, 3), (3, 4)], "حمص", TAGS)
    except ValueError:
        pass
    else:
        raise AssertionError("shape mismatch not caught")


def test_word_tags():
    text = "قصفت القوات وبحمص ومطار دمشق الدولي «داعش»"
    words = whitespace_words(text)
    hims = text.index("حمص")
    airport = text.index("مطار")
    isis = text.index("داعش")
    spans = [(hims, hims + 3, "LOC"), {"start": airport, "end": airport + len("مطار دمشق الدولي"), "label": "LOC"},
             Entity("e3", isis, isis + 4, "ARMED_GROUP", "داعش")]
    assert spans_to_word_tags(text, spans, words) == ["O", "O", "B-LOC", "B-LOC", "I-LOC", "I-LOC", "B-ARMED_GROUP"]
    # two entities touching one word: the word goes to the earlier one
    assert spans_to_word_tags("حمصداعش قصف", [(0, 3, "LOC"), (3, 7, "ARMED_GROUP")]) == ["B-LOC", "O"]


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 8), st.sampled_from(["LOC", "AGENCY"])), max_size=6),
       st.text(alphabet="حمص ", min_size=0, max_size=50))
def test_word_tags_are_valid_iob2(raw, text):
    spans = sorted((s, min(s + n, len(text)), lab) for s, n, lab in raw if s < len(text))
    tags = spans_to_word_tags(text, spans)
    assert len(tags) == len(text.split())
    for i, t in enumerate(tags):
        if t.startswith("I-"):
            assert i > 0 and tags[i - 1] in ("B-" + t[2:], t)
    # every word that a span touches is tagged
    for (ws, we), t in zip(whitespace_words(text), tags, strict=True):
        if any(s < we and e > ws for s, e, _ in spans):
            assert t != "O"


def test_perfect_probs_round_trip_with_windows_of_one_article():
    text = "وأضاف المرصد السوري لحقوق الإنسان أن «هيئة تحرير الشام» سيطرت على الرستن وتلبيسة"
    spans = [(6, 33, "AGENCY"), (text.index("هيئة"), text.index("هيئة") + 16, "ARMED_GROUP"),
             (text.index("الرستن"), text.index("الرستن") + 6, "LOC"), (text.index("تلبيسة"), len(text), "LOC")]
    enc = encode_for_model(TOKENIZER, text)
    ents = decode_entities(perfect_probs(align_labels(enc.token_spans, spans, TAG2ID)), enc.token_spans, text, TAGS)
    assert [(e["start"], e["end"], e["label"]) for e in ents] == spans
