"""Loading a bundle: checksums, backends, the Python API, and life without the training stack."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundle_support import BLOCK_TRAINING, ROOT, env, rasid_cli, tiny_bundle, write_jsonl
from rasid.bundle import MANIFEST, load_bundle, read_manifest, verify_bundle
from rasid.errors import RasidConfigError


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    return tiny_bundle(tmp_path_factory.getbasetemp() / "rasid-tiny")


@pytest.fixture(scope="module")
def model(tiny):
    import rasid

    return rasid.load(tiny["bundle"])


def _test_texts(tiny) -> list[str]:
    return [json.loads(line)["text"] for line in tiny["test"].read_text(encoding="utf-8").splitlines()]


def _check_record(rec: dict, text: str) -> None:
    assert rec["text"] == text
    ids = {e["id"] for e in rec["entities"]}
    for e in rec["entities"]:
        assert text[e["start"] : e["end"]] == e["text"] and 0 <= e["score"] <= 1
    for r in rec["relations"]:
        assert r["head"] in ids and r["tail"] in ids and 0 <= r["score"] <= 1


# --- fast: the manifest checks themselves -------------------------------------------------

def _fake_bundle(folder: Path, files: dict[str, bytes], listed: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    manifest = {"format": "rasid-bundle", "format_version": 1, "files": listed, "schema": {}, "entities": {}}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return folder


def test_manifest_entries_outside_the_bundle_are_refused(tmp_path):
    folder = _fake_bundle(tmp_path / "b", {"a.txt": b"x"}, {"../secret": "0" * 64})
    with pytest.raises(RasidConfigError, match="outside the bundle"):
        verify_bundle(folder, read_manifest(folder))


def test_a_folder_without_manifest_or_with_a_newer_format_is_refused(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(RasidConfigError, match="manifest.json: missing"):
        read_manifest(tmp_path / "half")
    folder = _fake_bundle(tmp_path / "new", {}, {})
    (folder / MANIFEST).write_text(json.dumps({"format": "rasid-bundle", "format_version": 99}))
    with pytest.raises(RasidConfigError, match="upgrade rasid"):
        read_manifest(folder)
    (folder / MANIFEST).write_text("{not json")
    with pytest.raises(RasidConfigError, match="not valid JSON"):
        read_manifest(folder)


# --- slow: the tiny bundle ----------------------------------------------------------------

@pytest.mark.slow
def test_extract_returns_article_records_with_original_offsets(model, tiny):
    texts = _test_texts(tiny)
    records = model.extract_batch(texts)
    assert [r["id"] for r in records] == [str(i) for i in range(len(texts))]
    for rec, text in zip(records, texts, strict=True):
        _check_record(rec, text)
    assert sum(len(r["entities"]) for r in records) > 0
    one = model.extract(texts[0], id="a-1", meta={"source": "test"})
    assert one["id"] == "a-1" and one["meta"] == {"source": "test"} and one["entities"] == records[0]["entities"]


@pytest.mark.slow
def test_empty_and_non_arabic_text(model):
    long_text = "وصلت قافلة جديدة إلى المدينة وسط هدوء حذر .\n" * 150  # many windows, few names
    for text in ("", "   ", "\n", "Reuters: no Arabic here, 2015.", "😀 ✓", long_text):
        _check_record(model.extract(text), text)
    assert model.extract("")["entities"] == []


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("سيطرتقواالنظامعلىحمصأإآةىًٌٍَُِّْـ ،.\n\t«»\"abc19")), max_size=120))
def test_offsets_always_index_the_original_text(model, text):
    _check_record(model.extract(text), text)


@pytest.mark.slow
def test_int8_variant_loads_and_predicts(tiny):
    import rasid

    int8 = rasid.load(tiny["bundle"], variant="int8")
    assert int8.predictor.variant == "int8"
    texts = _test_texts(tiny)
    for rec, text in zip(int8.extract_batch(texts), texts, strict=True):
        _check_record(rec, text)


@pytest.mark.slow
def test_unknown_backend_or_variant_is_refused(tiny):
    with pytest.raises(RasidConfigError, match="backend"):
        load_bundle(tiny["bundle"], backend="tensorflow")
    with pytest.raises(RasidConfigError, match="variant"):
        load_bundle(tiny["bundle"], variant="fp16")
    with pytest.raises(RasidConfigError, match="ONNX only"):
        load_bundle(tiny["bundle"], backend="torch", variant="int8")


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["onnx/entities.onnx", "tokenizer.json", "relations/relation_head.safetensors"])
def test_a_tampered_bundle_is_refused(tiny, tmp_path, victim):
    copy = tmp_path / "b"
    shutil.copytree(tiny["bundle"], copy)
    data = bytearray((copy / victim).read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    (copy / victim).write_bytes(bytes(data))
    with pytest.raises(RasidConfigError, match="checksum mismatch") as err:
        load_bundle(copy)
    assert victim.split("/")[-1] in str(err.value)


@pytest.mark.slow
def test_a_partial_bundle_is_refused(tiny, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(tiny["bundle"], copy)
    (copy / "onnx" / "relations.onnx").unlink()
    with pytest.raises(RasidConfigError, match="relations.onnx: missing"):
        load_bundle(copy)
    (copy / MANIFEST).unlink()
    with pytest.raises(RasidConfigError, match="not a complete bundle"):
        load_bundle(copy)


@pytest.mark.slow
def test_torch_backend_gives_the_same_spans(model, tiny):
    import rasid

    torch_model = rasid.load(tiny["bundle"], backend="torch")
    assert torch_model.predictor.backend == "torch"
    texts = _test_texts(tiny)

    def spans(records):
        return [[(e["start"], e["end"], e["label"]) for e in r["entities"]] for r in records]

    assert spans(torch_model.extract_batch(texts)) == spans(model.extract_batch(texts))


@pytest.mark.slow
def test_onnx_path_imports_no_torch(tiny):
    code = (f"import sys, rasid\nm = rasid.load({str(tiny['bundle'])!r})\nr = m.extract_batch({_test_texts(tiny)!r})\n"
            "assert sum(len(x['entities']) for x in r) > 0\n"
            "heavy = sorted(k for k in sys.modules if k.split('.')[0] in ('torch', 'transformers', 'accelerate'))\n"
            "assert not heavy, heavy\nprint('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


@pytest.mark.slow
def test_bundle_predicts_with_the_training_code_unimportable(tiny, tmp_path):
    out = tmp_path / "pred.jsonl"
    code = BLOCK_TRAINING + (
        "import rasid\nfrom pathlib import Path\nfrom rasid.predictor import load_predictor, stream_predictions\n"
        f"m = rasid.load({str(tiny['bundle'])!r})\nassert m.extract('سيطرت قوات النظام على حمص')['text']\n"
        f"p = load_predictor(Path({str(tiny['bundle'])!r}))\n"
        f"print(stream_predictions(p, Path({str(tiny['test'])!r}), Path({str(out)!r})))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "16"
    assert len(out.read_text(encoding="utf-8").splitlines()) == 16


@pytest.mark.slow
def test_blocker_really_blocks(tiny):
    proc = subprocess.run([sys.executable, "-c", BLOCK_TRAINING + "import rasid.runner"], cwd=ROOT, env=env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0 and "blocked" in proc.stderr


@pytest.mark.slow
def test_rasid_predict_streams_with_a_bundle(tiny, tmp_path):
    out = tmp_path / "out.jsonl"
    proc = rasid_cli("predict", "--model", str(tiny["bundle"]), "--input", str(tiny["test"]), "--output", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    gold = [json.loads(line) for line in tiny["test"].read_text(encoding="utf-8").splitlines()]
    pred = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [p["id"] for p in pred] == [g["id"] for g in gold]
    for p in pred:
        _check_record(p, p["text"])

    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "one.txt").write_text("انسحبت قوات النظام من تدمر", encoding="utf-8")
    proc = rasid_cli("predict", "--model", str(tiny["bundle"]), "--input", str(folder), "--output", str(tmp_path / "o2.jsonl"),
                     "--backend", "onnx")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "o2.jsonl").read_text(encoding="utf-8"))["id"] == "one"


@pytest.mark.slow
def test_evaluating_data_outside_the_bundle_schema_is_one_clear_line(tiny, tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x1", "text": "زار الرئيس دمشق", "entities": [
        {"id": "e1", "start": 4, "end": 10, "label": "PERSON", "text": "الرئيس"}], "relations": []}])
    proc = rasid_cli("evaluate", "--model", str(tiny["bundle"]), "--data", str(bad), "--output", str(tmp_path / "r.json"), "--no-plots")
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("rasid: error:") and "PERSON" in last and "bad.jsonl" in last


@pytest.mark.parametrize(("name", "value"), [("RASID_WINDOW_BATCH", "eight"), ("RASID_WINDOW_BATCH", "0"), ("RASID_ORT_THREADS", "-1")])
def test_bad_environment_settings_are_one_clear_line(tiny, monkeypatch, name, value):
    from rasid.bundle import load_bundle
    from rasid.errors import RasidConfigError

    monkeypatch.setenv(name, value)
    with pytest.raises(RasidConfigError, match=rf"\${name}='{value}': expected a whole number"):
        load_bundle(tiny["bundle"])
