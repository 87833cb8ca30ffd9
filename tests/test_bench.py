"""rasid.bench: the run_ner baseline's label alignment, the measuring tools, and the quick mode end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rasid.articles import Article, Entity
from rasid.bench import hf_baseline
from rasid.bench.config import load_bench_config
from rasid.bench.measure import PeakRSS, linear_fit, loglog_slope
from rasid.bench.scaling import long_text
from rasid.corpora.readers import shared_data_root
from rasid.errors import RasidConfigError
from rasid.ner.alignment import IGNORE_INDEX

ROOT = Path(__file__).resolve().parents[1]
ANERCORP = shared_data_root() / "ner" / "anercorp"
needs_anercorp = pytest.mark.skipif(not (ANERCORP / "ANERCorp_CamelLab_test.txt").exists(), reason="shared ANERCorp not present")
TAGS = ["O", "B-PERS", "I-PERS", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
TAG2ID = {t: i for i, t in enumerate(TAGS)}
TEXTS = ["زار الملك عبدالله الثاني مدينة عمان أمس", "قالت الأمم المتحدة إن المساعدات وصلت إلى حلب ودرعا",
         "أعلنت وزارة الدفاع في بيروت عن خطة جديدة للتنمية الاقتصادية والاجتماعية"] * 4


# --- run_ner label alignment --------------------------------------------------------------

def test_first_subword_gets_the_label_other_pieces_are_ignored():
    word_ids = [None, 0, 0, 1, 2, 2, 2, None]
    assert hf_baseline.first_subword_labels(word_ids, [3, 1, 5]) == [IGNORE_INDEX, 3, IGNORE_INDEX, 1, 5, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]


@st.composite
def word_id_sequences(draw):
    pieces = draw(st.lists(st.integers(min_value=1, max_value=4), min_size=0, max_size=12))
    word_ids = [None] + [w for w, n in enumerate(pieces) for _ in range(n)] + [None]
    labels = draw(st.lists(st.integers(min_value=0, max_value=8), min_size=len(pieces), max_size=len(pieces)))
    return word_ids, labels


@given(word_id_sequences())
def test_alignment_labels_each_word_exactly_once_on_its_first_piece(case):
    word_ids, labels = case
    out = hf_baseline.first_subword_labels(word_ids, labels)
    assert len(out) == len(word_ids)
    firsts = [i for i, w in enumerate(word_ids) if w is not None and (i == 0 or word_ids[i - 1] != w)]
    assert [i for i, v in enumerate(out) if v != IGNORE_INDEX] == [i for i in firsts if labels[word_ids[i]] != IGNORE_INDEX]
    for i in firsts:
        assert out[i] == labels[word_ids[i]]


@pytest.fixture(scope="module")
def tokenizer():
    from rasid.encoders.scratch import train_unigram_tokenizer

    return train_unigram_tokenizer(TEXTS, vocab_size=60)  # a small vocabulary: words split into several pieces


def _article(text: str, spans: list[tuple[str, str]]) -> Article:
    ents = []
    for i, (mention, label) in enumerate(spans):
        start = text.index(mention)
        ents.append(Entity(f"e{i}", start, start + len(mention), label, mention))
    return Article("a1", text, ents, [])


def test_sentences_are_lines_with_word_offsets_and_gold_tags():
    text = "زار الملك عبدالله الثاني\nمدينة عمان أمس"
    (first, second) = hf_baseline.split_sentences([_article(text, [("عبدالله الثاني", "PERS"), ("عمان", "LOC")])])
    assert [text[a:b] for a, b in first.words] == ["زار", "الملك", "عبدالله", "الثاني"]
    assert first.tags == ["O", "O", "B-PERS", "I-PERS"]
    assert [text[a:b] for a, b in second.words] == ["مدينة", "عمان", "أمس"]
    assert second.tags == ["O", "B-LOC", "O"]


def test_encoding_truncates_at_max_length_and_labels_first_pieces_only(tokenizer):
    text = TEXTS[2]
    art = _article(text, [("وزارة الدفاع", "ORG"), ("بيروت", "LOC")])
    sentences = hf_baseline.split_sentences([art])
    full = hf_baseline.encode_sentences(tokenizer, sentences, [text], TAG2ID, max_length=512)[0]
    cut = hf_baseline.encode_sentences(tokenizer, sentences, [text], TAG2ID, max_length=8)[0]
    n_words = len(sentences[0].words)
    assert len(full["input_ids"]) > 8 and len(cut["input_ids"]) == 8  # truncation at max_length, specials included
    assert cut["input_ids"] == full["input_ids"][:7] + [full["input_ids"][-1]]  # cut before [SEP], [SEP] kept
    # labels: one per word, on its first piece, in word order
    labelled = [(cut["word_ids"][i], v) for i, v in enumerate(cut["labels"]) if v != IGNORE_INDEX]
    assert [w for w, _ in labelled] == sorted({w for w in cut["word_ids"] if w is not None})
    assert [v for _, v in labelled] == [TAG2ID[sentences[0].tags[w]] for w, _ in labelled]
    assert len({w for w in full["word_ids"] if w is not None}) == n_words
    assert hf_baseline.truncated_words([cut], [n_words]) == n_words - len(labelled) > 0


def test_words_lost_to_truncation_are_predicted_O(tokenizer):
    import torch

    class AlwaysLoc(torch.nn.Module):  # a stand-in head that says B-LOC everywhere
        def forward(self, input_ids, attention_mask):
            logits = torch.zeros((*input_ids.shape, len(TAGS)))
            logits[..., TAG2ID["B-LOC"]] = 1.0
            return type("Out", (), {"logits": logits})()

    sentences = hf_baseline.split_sentences([Article("a", TEXTS[2])])
    examples = hf_baseline.encode_sentences(tokenizer, sentences, [TEXTS[2]], None, max_length=8)
    tags = hf_baseline.predict_word_tags(AlwaysLoc(), examples, [len(s.words) for s in sentences], dict(enumerate(TAGS)), pad_id=0)[0]
    seen = {w for w in examples[0]["word_ids"] if w is not None}
    assert [t == "B-LOC" for t in tags] == [i in seen for i in range(len(tags))]
    assert tags[-1] == "O"


def test_batches_pad_to_batch_max_or_max_length_and_shuffle_reproducibly():
    feats = [{"input_ids": [1] * n, "labels": [0] * n} for n in (3, 7, 5, 2)]
    batch = hf_baseline.pad_examples(feats[:2], pad_id=9)
    assert batch["input_ids"].shape == (2, 7) and int(batch["attention_mask"].sum()) == 10
    assert int((batch["labels"] == IGNORE_INDEX).sum()) == 4
    assert hf_baseline.pad_examples(feats, 9, pad_to=16)["input_ids"].shape == (4, 16)
    a, b = hf_baseline.shuffled_batches(10, 3, seed=1), hf_baseline.shuffled_batches(10, 3, seed=1)
    assert a == b and sorted(i for batch in a for i in batch) == list(range(10))


def test_loop_variants_cover_the_same_examples_with_less_padding_for_rasid():
    from rasid.bench.speed import BATCH_MAX, MAX_LENGTH, RASID, loop_batches

    feats = [{"input_ids": [5] * n, "labels": [0] * n} for n in [4, 60, 9, 33, 12, 64, 7, 50, 20, 5, 41, 8] * 4]
    variants = loop_batches(feats, batch_size=8, max_length=64, pad_id=1, seed=3)
    real = {name: sum(int(b["attention_mask"].sum()) for b in bs) for name, bs in variants.items()}
    padded = {name: sum(b["attention_mask"].numel() for b in bs) for name, bs in variants.items()}
    assert len(set(real.values())) == 1  # same examples, same real tokens
    assert padded[RASID] < padded[BATCH_MAX] < padded[MAX_LENGTH] == len(feats) * 64


# --- measuring tools ----------------------------------------------------------------------

def test_fits_recognise_a_line_and_a_square():
    x = [1, 2, 5, 10, 20]
    fit = linear_fit(x, [3 + 2 * v for v in x])
    assert fit["r2"] == pytest.approx(1.0) and fit["slope"] == pytest.approx(2.0) and fit["intercept"] == pytest.approx(3.0)
    assert loglog_slope(x, [v * v for v in x]) == pytest.approx(2.0)
    assert loglog_slope(x, [7 * v for v in x]) == pytest.approx(1.0)


def test_peak_rss_sees_a_temporary_allocation():
    with PeakRSS() as rss:
        block = bytearray(80_000_000)
        block[::4096] = b"x" * len(block[::4096])  # touch every page
        del block
    assert rss.delta_mb > 60


def test_long_articles_are_cut_at_a_word_boundary_near_the_length():
    sources = ["كلمة " * 30, "نص آخر هنا " * 10]
    for n in (100, 1000, 5000):
        text = long_text(sources, n)
        assert n // 2 < len(text) <= n and not text.endswith(" ")
        assert set(text.split()) <= {"كلمة", "نص", "آخر", "هنا"}


def test_config_refuses_unknown_keys(tmp_path):
    bad = tmp_path / "bench.yaml"
    bad.write_text("training:\n  epochz: 3\n", encoding="utf-8")
    with pytest.raises(RasidConfigError, match="epochz"):
        load_bench_config(bad)
    cfg = load_bench_config(ROOT / "configs" / "bench.yaml")
    assert cfg.training.encoder == "e5-small" and cfg.data.train_every >= 1


# --- quick mode end to end ----------------------------------------------------------------

@needs_anercorp
def test_subset_is_fixed_and_disjoint_from_dev():
    from rasid.bench.data import load_splits

    cfg = load_bench_config(ROOT / "configs" / "bench.yaml").data
    a, b = load_splits(cfg), load_splits(cfg)
    assert [x.id for x in a.train] == [x.id for x in b.train]
    assert not {x.id for x in a.train} & {x.id for x in a.dev}
    assert len(a.test) > 90 and len(a.dev) == cfg.dev_articles


@needs_anercorp
@pytest.mark.slow
def test_quick_bench_writes_json_markdown_and_plots(tmp_path):
    from rasid.bench.report import PLOTS
    from rasid.bench.runner import run_bench

    cfg = load_bench_config(ROOT / "configs" / "bench-quick.yaml")
    run_bench(cfg, tmp_path)
    saved = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    for key in ("machine", "data", "encoder", "training", "quality", "training_speed", "inference", "http", "scaling", "published", "ratios"):
        assert key in saved, key
    assert set(saved["inference"]["backends"]) == {"pytorch_fp32", "onnx_fp32", "onnx_int8"}
    assert all(level["errors"] == 0 and level["ok"] == level["requests"] for level in saved["http"]["levels"])
    assert [r["chars"] for r in saved["scaling"]["rows"]] == sorted(r["chars"] for r in saved["scaling"]["rows"])
    assert saved["quality"]["rasid"]["scheme"].startswith("seqeval")
    assert "inference.onnx_int8 articles/s vs pytorch_fp32" in saved["ratios"]
    markdown = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "## Summary" in markdown and "≈ CAMeL split" in markdown and "not comparable" in markdown
    for name in PLOTS:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
