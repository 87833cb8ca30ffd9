"""rasid.corpora on the real shared files and on hand-made cases."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rasid.corpora import (
    ProcliticFixer,
    load_mapping,
    read_anercorp,
    read_aqmar,
    read_fane,
    read_sentences,
    repair_iob,
    shared_data_root,
    tag_spans,
)
from rasid.corpora.conll import Sentence, group_sentences, sentences_to_articles
from rasid.errors import RasidConfigError, RasidDataError
from rasid.schema import load_schema
from rasid.validate import validate_articles, validate_file

ROOT = Path(__file__).resolve().parents[1]
NER = shared_data_root() / "ner"
MAPPING = ROOT / "configs" / "mappings" / "newsfane.yaml"
ANERCORP_SCHEMA = load_schema(ROOT / "configs" / "schemas" / "anercorp.yaml")
needs_shared = pytest.mark.skipif(not NER.exists(), reason="shared data not present")


def assert_offsets_hold(articles):
    for art in articles:
        for e in art.entities:
            assert art.text[e.start : e.end] == e.text and e.text == e.text.strip(), (art.id, e)


# --- real files: counts measured on the files themselves (sentence counts include a last
# sentence that has no blank line after it, so they are one more than the blank-line count)

ANERCORP_FILES = {
    "ANERCorp_CamelLab_test.txt": (925, 25008, {"PERS": 907, "LOC": 676, "ORG": 459, "MISC": 243}),
    "ANERCorp_CamelLab_train.RECONSTRUCTED.txt": (3989, 125115, {"LOC": 3780, "PERS": 2736, "ORG": 1586, "MISC": 900}),
    "ANERCorp_manually_cleaned_AUB.tsv": (4634, 148520, {"LOC": 4435, "PERS": 3622, "ORG": 2031, "MISC": 1132}),
    "ANERCorp_original_variant_HassanAzzam.txt": (5244, 150124, {"LOC": 4437, "PERS": 3624, "ORG": 2036, "MISC": 1136}),
}


@needs_shared
@pytest.mark.parametrize("name", sorted(ANERCORP_FILES))
def test_anercorp_native(name):
    sentences, tokens, entities = ANERCORP_FILES[name]
    articles, stats = read_anercorp(NER / "anercorp" / name)
    assert (stats.sentences, stats.tokens, dict(stats.entities)) == (sentences, tokens, entities)
    assert sum(len(a.text.split()) for a in articles) == tokens
    assert sum(a.text.count("\n") + 1 for a in articles) == sentences
    assert all(len(a.text.split("\n")) <= 10 for a in articles) and articles[12].id == "anercorp-00012"
    assert_offsets_hold(articles)
    assert validate_articles(((a.id, a) for a in articles), ANERCORP_SCHEMA, name) == []


@needs_shared
def test_anercorp_test_split_iob_repairs_are_counted():
    _, stats = read_anercorp(NER / "anercorp" / "ANERCorp_CamelLab_test.txt")
    assert stats.iob_repairs == 74 and stats.clitic_fixes == 0  # native mode keeps the benchmark's spans


@needs_shared
@pytest.mark.parametrize(
    "name,sentences,tokens,types,entities",
    [("NewsFANE_Gold_2014_170K.txt", 4760, 168080, 45, 11423), ("WikiFANE_Gold_2014_500K.txt", 15763, 489561, 51, 36595)],
)
def test_fane_native(name, sentences, tokens, types, entities):
    articles, stats = read_fane(NER / "fane" / name)
    assert (stats.sentences, stats.tokens, len(stats.native_entities), sum(stats.entities.values())) == (
        sentences,
        tokens,
        types,
        entities,
    )
    assert not any("\u200e" in a.text or "\ufeff" in a.text or "\r" in a.text for a in articles)
    assert articles[0].id.startswith(name[:4].lower()) and articles[0].text.startswith(
        "فرانكفورت" if name[0] == "N" else articles[0].text[:1]
    )
    assert_offsets_hold(articles)


@needs_shared
def test_mapping_covers_every_fane_type():
    mapping = load_mapping(MAPPING, load_schema())
    found = set()
    for name in ("NewsFANE_Gold_2014_170K.txt", "WikiFANE_Gold_2014_500K.txt"):
        for sentence in read_sentences(NER / "fane" / name, "fane"):
            found |= {t for _, _, t in tag_spans(sentence.tags)}
    assert len(found) == 51 and found == set(mapping.types)


@needs_shared
def test_newsfane_mapped_into_the_schema():
    articles, stats = read_fane(NER / "fane" / "NewsFANE_Gold_2014_170K.txt", mapping=MAPPING)
    assert set(stats.entities) == {"LOC", "OFFICIAL", "AGENCY", "ARMED_GROUP"}
    assert sum(stats.entities.values()) + sum(stats.dropped.values()) == 11423
    assert stats.clitic_fixes > 100 and stats.clitic_examples["للامم المتحدة -> لامم المتحدة"] == 51
    assert_offsets_hold(articles)
    assert validate_articles((a.id, a) for a in articles) == []
    by_text = Counter((e.text, e.label) for a in articles for e in a.entities)
    assert by_text[("الجيش الاسرائيلي", "ARMED_GROUP")] > 10 and by_text[("حزب الله", "ARMED_GROUP")] > 50
    assert by_text[("الامم المتحدة", "AGENCY")] > 100 and by_text[("بغداد", "LOC")] > 40


@needs_shared
def test_aqmar_noisy_tags_are_repaired_and_counted():
    articles, stats = read_aqmar(NER / "aqmar" / "articles")
    assert (len(articles), stats.sentences, stats.tokens) == (28, 2687, 73853)
    assert stats.tag_repairs["OO -> O"] == 1 and stats.tag_repairs["I--ORG -> I-ORG"] == 1
    assert sum(stats.tag_repairs.values()) == 15
    assert set(stats.entities) == {"PER", "LOC", "ORG", "MIS0", "MIS1", "MIS2", "MIS3"}
    assert {a.id for a in articles} >= {"aqmar-Damascus", "aqmar-Real_Madrid"}
    assert_offsets_hold(articles)


# --- hand-made files: formats


def test_fane_format_bom_crlf_tab_line_and_marks(tmp_path):
    path = tmp_path / "mini.txt"
    rows = [
        "\u200eولبنان\tB-Nation",
        "\u200eو\tO",
        "\u200eبغداد\tB-Population-Center",
        "\t",
        "\u200eلبنان\tB-Nation",
        "\u200eلبنان\tB-Nation",
        ".\tO",
        "\t",
    ]
    path.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))
    articles, stats = read_fane(path, mapping=MAPPING, gazetteer_root=tmp_path / "none")
    assert stats.sentences == 2 and articles[0].text == "ولبنان و بغداد\nلبنان لبنان ."
    assert [(e.text, e.label) for e in articles[0].entities] == [("لبنان", "LOC"), ("بغداد", "LOC")] + [("لبنان", "LOC")] * 2
    assert stats.clitic_fixes == 1  # لبنان (2 mentions) outnumbers ولبنان (1): attested
    assert_offsets_hold(articles)


def test_glued_and_spaced_lines_are_split(tmp_path):
    path = tmp_path / "stream.txt"
    path.write_text("قال O\n. Oالإصابة O\nالصالحية ونايفة B-LOC\n O\n. O\n", encoding="utf-8")
    sentences = read_sentences(path, "anercorp-stream")
    assert [s.tokens for s in sentences] == [["قال", "."], ["الإصابة", "الصالحية", "ونايفة", "."]]
    assert sentences[1].tags == ["O", "B-LOC", "I-LOC", "O"]


def test_unknown_native_label_is_an_error(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("زيد B-PER\n", encoding="utf-8")
    with pytest.raises(RasidDataError, match="'PER'"):
        read_anercorp(path)


def test_mapping_rejects_labels_outside_the_schema(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("types:\n  Nation: COUNTRY\n", encoding="utf-8")
    with pytest.raises(RasidConfigError, match="COUNTRY"):
        load_mapping(path, load_schema())


def test_retyping_rules():
    mapping = load_mapping(MAPPING, load_schema())
    assert mapping.resolve("Government", "للجيش الاسرائيلي")[0] == "ARMED_GROUP"
    assert mapping.resolve("Government", "وزارة الدفاع")[0] == "AGENCY"
    assert mapping.resolve("Non-Governmental", 'لحركة " حماس')[0] == "ARMED_GROUP"
    assert mapping.resolve("Non-Governmental", "مجلس الامن")[0] == "AGENCY"
    assert mapping.resolve("Other_PER", "ايمن الظواهري")[0] == "OFFICIAL"
    assert mapping.resolve("Athlete", "زيدان")[0] is None
    with pytest.raises(RasidDataError, match="not in the mapping"):
        mapping.resolve("Spaceship", "x")


# --- proclitics


def test_clitic_stripped_only_when_attested():
    fix = ProcliticFixer(Counter({("LOC", "لبنان"): 5, ("LOC", "ولبنان"): 1, ("LOC", "بغداد"): 4}))
    assert fix("ولبنان", "LOC") == 1  # → لبنان
    assert fix("بغداد", "LOC") == 0  # غداد is no name
    assert fix("لبنان", "LOC") == 0 and fix("فلسطين", "LOC") == 0 and fix("وزارة الدفاع", "AGENCY") == 0


def test_fused_lam_alif_keeps_the_second_lam():
    fix = ProcliticFixer(Counter({("ARMED_GROUP", "الجيش"): 3}))
    mention = "للجيش"
    cut = fix(mention, "ARMED_GROUP")
    assert cut == 1 and mention[cut:] == "لجيش"  # schema.md: the span starts at the second ل (الجيش's)
    assert ProcliticFixer(Counter({("LOC", "اليابان"): 3, ("LOC", "يابان"): 9}))("لليابان", "LOC") == 1


def test_gazetteer_attests_but_never_cuts_a_gazetteer_name():
    fix = ProcliticFixer(Counter(), {"LOC": {"سوريا", "بكين", "كين"}})
    assert fix("لسوريا", "LOC") == 1
    assert fix("بكين", "LOC") == 0
    assert fix("لسوريا", "OFFICIAL") == 0  # place names do not attest a person's cut


def test_best_attested_cut_wins():
    fix = ProcliticFixer(Counter({("LOC", "باريس"): 20, ("LOC", "اريس"): 2}))
    assert fix("بباريس", "LOC") == 1
    fix = ProcliticFixer(Counter({("AGENCY", "الامم المتحدة"): 9, ("AGENCY", "للامم المتحدة"): 5}))
    assert fix("وللامم المتحدة", "AGENCY") == 2


# --- pure functions


TAGS = st.lists(st.sampled_from(["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]), max_size=30)


@given(TAGS)
def test_repair_iob_gives_valid_iob2_and_keeps_entity_tokens(tags):
    fixed, repairs = repair_iob(tags)
    assert [t[2:] for t in fixed] == [t[2:] for t in tags]
    assert repairs == sum(a != b for a, b in zip(tags, fixed, strict=True))
    for previous, tag in zip(["O"] + fixed, fixed, strict=False):
        assert not tag.startswith("I-") or previous[2:] == tag[2:]
    assert repair_iob(fixed) == (fixed, 0)


WORDS = st.lists(st.text(alphabet="ابتثجح", min_size=1, max_size=5), min_size=1, max_size=8)


@given(st.lists(st.tuples(WORDS, TAGS), min_size=1, max_size=25), st.integers(1, 6), st.integers(5, 200))
def test_articles_keep_offsets_and_every_sentence(pairs, max_sentences, max_chars):
    sentences = []
    for i, (words, tags) in enumerate(pairs):
        tags = repair_iob((tags + ["O"] * len(words))[: len(words)])[0]
        sentences.append(Sentence(words, tags, i + 1))
    groups = group_sentences(sentences, max_sentences, max_chars)
    assert [s for g in groups for s in g] == sentences and all(len(g) <= max_sentences for g in groups)
    articles = sentences_to_articles(groups, id_prefix="t")
    assert_offsets_hold(articles)
    assert sum(len(a.entities) for a in articles) == sum(len(tag_spans(s.tags)) for s in sentences)


# --- the shipped data


SHIPPED = ROOT / "data" / "newsfane"


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_shipped_files_validate_clean(split):
    path = SHIPPED / f"{split}.jsonl"
    assert path.exists(), "run scripts/build_shipped_data.py"
    assert validate_file(path) == []


def test_shipped_splits_are_disjoint_silver_and_licensed():
    from rasid.articles import read_articles

    ids = {split: [a.id for a in read_articles(SHIPPED / f"{split}.jsonl")] for split in ("train", "dev", "test")}
    every = [i for v in ids.values() for i in v]
    assert len(every) == len(set(every)) == 530
    article = next(read_articles(SHIPPED / "dev.jsonl"))
    assert article.meta["silver"] is True and article.meta["license"] == "CC BY-SA 3.0"
    assert "Creative Commons" in (SHIPPED / "LICENSE").read_text(encoding="utf-8")
