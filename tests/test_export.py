"""`rasid export`: the bundle's contents, its parity with PyTorch, and atomic writing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bundle_support import rasid_cli, tiny_bundle, write_jsonl
from rasid.bundle import MANIFEST, bundle_files, load_bundle, sha256_file
from rasid.errors import RasidConfigError, RasidDataError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    return tiny_bundle(tmp_path_factory.getbasetemp() / "rasid-tiny")


@pytest.fixture(scope="module")
def manifest(tiny) -> dict:
    return json.loads((tiny["bundle"] / MANIFEST).read_text(encoding="utf-8"))


def test_manifest_describes_the_model(tiny, manifest):
    from rasid.schema import load_schema

    schema = load_schema(tiny["run"] / "schema.yaml")
    assert manifest["format"] == "rasid-bundle" and manifest["format_version"] == 1
    assert manifest["entities"]["tags"] == schema.bio_tags
    assert manifest["relations"]["labels"] == schema.relation_labels
    assert manifest["schema"] == schema.to_dict()
    ent = manifest["entities"]
    assert (ent["max_length"], ent["stride"], ent["split_clitics"]) == (64, 16, True)
    assert set(ent["special_ids"]) == {"cls", "sep", "pad"}
    assert manifest["encoder"]["name"] == "tiny" and "licence" in manifest["encoder"]["origin"]
    assert "path" not in manifest["encoder"]  # a training-machine path means nothing in a bundle
    for pkg in ("torch", "transformers", "tokenizers", "onnx", "onnxruntime"):
        assert manifest["versions"][pkg]
    assert manifest["metrics"]["test_report"]["entities"]["per_label"].keys() == set(schema.entity_labels)


def test_manifest_checksums_cover_every_file(tiny, manifest):
    bundle = tiny["bundle"]
    assert sorted(manifest["files"]) == bundle_files(bundle)
    for rel, digest in manifest["files"].items():
        assert sha256_file(bundle / rel) == digest
    names = set(manifest["files"])
    for needed in ("tokenizer.json", "ner/model.safetensors", "relations/model.safetensors", "relations/relation_head.safetensors",
                   "onnx/entities.onnx", "onnx/entities.int8.onnx", "onnx/relations.onnx", "onnx/relations.int8.onnx", "MODEL_CARD.md"):
        assert needed in names


def test_parity_at_export_is_recorded(manifest):
    parity = manifest["parity"]
    assert parity["articles"] == 16
    assert parity["entities"]["max_abs_logit_diff"] <= 1e-4 and parity["entities"]["spans_identical"]
    assert parity["relations"]["pairs"] > 0 and parity["relations"]["max_abs_logit_diff"] <= 1e-4
    assert parity["relations"]["identical"]
    f1 = parity["f1"]
    assert f1["torch"] == f1["onnx_fp32"]
    assert set(parity["int8"]) >= {"f1_drop", "within_tolerance", "tolerance"}
    # the tiny model is allowed to drift under int8 (recorded, warned); the bound is asserted on real models
    assert parity["int8"]["f1_drop"] == pytest.approx(max(f1["onnx_fp32"]["entities"] - f1["onnx_int8"]["entities"],
                                                          f1["onnx_fp32"]["relations"] - f1["onnx_int8"]["relations"]), abs=1e-3)


def _windows(predictor, texts):
    from rasid.ner.tagger import pad_batch, window_examples

    rows = []
    for t in texts:
        rows += [ex["input_ids"] for ex in window_examples(predictor.tagger.encode(t), None, predictor.tagger.max_length,
                                                             predictor.tagger.stride, predictor.tagger.ids)]
    return pad_batch(rows, predictor.tagger.ids.pad)


def test_onnx_fp32_matches_torch_on_the_test_split(tiny):
    from rasid.articles import Article, read_articles
    from rasid.relations.candidates import candidate_pairs
    from rasid.relations.pipeline import article_windows, pad_windows

    onnx = load_bundle(tiny["bundle"], backend="onnx")
    torch_ = load_bundle(tiny["bundle"], backend="torch")
    gold = list(read_articles(tiny["test"]))
    ids, mask = _windows(onnx, [a.text for a in gold])
    diff = np.abs(onnx.tagger.logits_fn(ids, mask) - torch_.tagger.logits_fn(ids, mask)).max()
    assert diff <= 1e-4

    art = gold[0]
    wins = article_windows(art, candidate_pairs(art, onnx.schema, onnx.rel_cfg.max_distance, onnx.rel_cfg.sentence_window, onnx.rel_cfg.max_partners),
                           onnx.rel_tokenizer, onnx.rel_cfg.max_length, onnx.normalize)
    ids, mask = pad_windows([w.input_ids for w in wins], onnx.rel_pad)
    pairs = np.array([(b, h, t) for b, w in enumerate(wins) for h, t in w.pairs], dtype=np.int64)
    assert len(pairs)
    assert np.abs(onnx.pair_logits_fn(ids, mask, pairs) - torch_.pair_logits_fn(ids, mask, pairs)).max() <= 1e-4

    texts = [Article(a.id, a.text) for a in gold]
    spans = [[(e.start, e.end, e.label) for e in a.entities] for a in onnx.predict(texts)]
    assert spans == [[(e.start, e.end, e.label) for e in a.entities] for a in torch_.predict(texts)]
    assert any(spans), "the tiny model should find some entities in its own kind of text"


def test_model_card_credits_data_and_reports_per_label(tiny, manifest):
    card = (tiny["bundle"] / "MODEL_CARD.md").read_text(encoding="utf-8")
    for heading in ("## Intended use", "## Model", "## Training data and licences", "## Evaluation", "## Limitations"):
        assert heading in card
    for label in manifest["schema"]["entities"]:
        assert f"| {label} |" in card
    assert manifest["model_version"] in card and "tiny" in card
    assert str(tiny["train"]) in card


def test_export_refuses_to_overwrite_a_folder_that_is_not_a_bundle(tiny, tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(RasidConfigError, match="not a bundle"):
        from rasid.export import export_bundle

        export_bundle(tiny["run"], out, check=False)
    assert (out / "notes.txt").read_text() == "keep me"


def test_a_failed_export_leaves_no_bundle_behind(tiny, tmp_path):
    from rasid.export import export_bundle

    run = tmp_path / "run"
    shutil.copytree(tiny["run"], run, ignore=shutil.ignore_patterns("checkpoint*"))
    (run / "ner" / "rasid_ner.json").write_text("{broken")  # read halfway through the export
    out = tmp_path / "bundles" / "b"
    with pytest.raises(json.JSONDecodeError):
        export_bundle(run, out, check=False)
    assert not out.exists()
    assert list((tmp_path / "bundles").iterdir()) == []  # no partial folder left either


def test_evaluation_data_outside_the_schema_is_a_clear_error(tiny, tmp_path):
    from rasid.export import export_bundle

    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x1", "text": "زار الرئيس دمشق", "entities": [
        {"id": "e1", "start": 4, "end": 10, "label": "PERSON", "text": "الرئيس"}], "relations": []}])
    with pytest.raises(RasidDataError, match="PERSON") as err:
        export_bundle(tiny["run"], tmp_path / "b", data=bad)
    assert "schema" in str(err.value)
    assert not (tmp_path / "b").exists()


def test_cli_export_without_check_then_again_replaces_the_bundle(tiny, tmp_path):
    out = tmp_path / "cli-bundle"
    for _ in range(2):
        proc = rasid_cli("export", str(tiny["run"]), str(out), "--no-check")
        assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["parity"] is None
    assert [p.name for p in tmp_path.iterdir()] == ["cli-bundle"]
    load_bundle(out).predict([])  # verifies checksums


def test_cli_export_of_a_missing_run_is_one_clear_line(tmp_path):
    proc = rasid_cli("export", str(tmp_path / "nope"), str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("rasid: error:") and "nope" in proc.stderr


def test_graphs_trace_plain_attention_without_sdpa_guards(tiny):
    """SDPA traced by the TorchScript exporter adds IsNaN/Where guards over every score tensor;
    they took a quarter of ONNX Runtime's time on 256-piece windows (onnx_graphs._eager_attention)."""
    import onnx

    for name in ("entities.onnx", "relations.onnx", "entities.int8.onnx", "relations.int8.onnx"):
        graph = onnx.load(str(tiny["bundle"] / "onnx" / name), load_external_data=False).graph
        ops = [node.op_type for node in graph.node]
        assert "IsNaN" not in ops and "Softmax" in ops, name
        if "int8" in name:  # per-channel weights: one scale per output row of a MatMul's weight
            scales = [init for init in graph.initializer if init.name.endswith("_scale") and len(init.dims) == 1 and init.dims[0] > 1]
            assert scales, name


def test_export_leaves_the_models_attention_as_it_was(tiny, tmp_path):
    from transformers import AutoModelForTokenClassification

    from rasid.onnx_graphs import export_entity_graph

    model = AutoModelForTokenClassification.from_pretrained(str(tiny["run"] / "ner"), attn_implementation="sdpa")
    export_entity_graph(model, tmp_path / "entities.onnx")
    assert model.config._attn_implementation == "sdpa"


def test_window_batching_does_not_change_predictions(tiny, monkeypatch):
    from rasid.articles import Article, read_articles

    texts = [Article(a.id, a.text) for a in read_articles(tiny["test"])]
    spans = {}
    for batch in ("1", "8"):
        monkeypatch.setenv("RASID_WINDOW_BATCH", batch)
        predictor = load_bundle(tiny["bundle"], backend="onnx")
        assert predictor.window_batch == int(batch) and predictor.tagger.batch_size == int(batch)
        out = predictor.predict(texts)
        spans[batch] = ([[(e.start, e.end, e.label) for e in a.entities] for a in out],
                        [[(r.label, r.head, r.tail) for r in a.relations] for a in out])
    assert spans["1"] == spans["8"]
