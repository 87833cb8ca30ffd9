"""Distillation into fewer layers: which layers the student keeps, that it starts as the teacher's
copy, learns to follow the teacher, resumes, and exports an encoder that trains like any other.
A tiny BERT built on the spot (2 layers) is the teacher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from rasid.encoders.scratch import build_scratch_encoder  # noqa: E402
from rasid.errors import RasidConfigError  # noqa: E402
from rasid.pretrain import corpus as pc  # noqa: E402
from rasid.pretrain.config import load_pretrain_config  # noqa: E402
from rasid.pretrain.distil import HiddenStateDistillation, kept_layers  # noqa: E402
from rasid.pretrain.pipeline import distil_card  # noqa: E402
from rasid.pretrain.train import export_encoder, run_pretraining  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _news(n: int = 60) -> list[tuple[str, str, str]]:
    with (ROOT / "data" / "gold" / "selection.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for _, line in zip(range(n), handle)]
    return [("ant", r["id"], r["text"]) for r in records]


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory) -> Path:
    folder, _ = build_scratch_encoder("tiny", [t for _, _, t in _news()], tmp_path_factory.mktemp("enc") / "tiny")
    # freshly initialised layers barely move the residual stream; give the layer the student skips
    # weight, as trained layers have, so that skipping it is a loss to learn away
    model = transformers.BertModel.from_pretrained(str(folder))
    with torch.no_grad():
        for p in model.encoder.layer[0].parameters():
            if p.ndim == 2:
                p.mul_(8.0)
    model.save_pretrained(str(folder))
    return folder


def test_the_student_keeps_evenly_spaced_layers_ending_with_the_last():
    assert kept_layers(12, 6) == [1, 3, 5, 7, 9, 11]
    assert kept_layers(12, 4) == [2, 5, 8, 11]
    assert kept_layers(12, 12) == list(range(12))
    assert kept_layers(2, 1) == [1]
    with pytest.raises(RasidConfigError, match="between 1 and the teacher's 12"):
        kept_layers(12, 13)


def test_the_student_starts_as_the_teachers_own_layers(teacher_dir):
    objective = HiddenStateDistillation(teacher_dir, 1)
    student, teacher = objective.model.bert, objective.teacher
    assert student.config.num_hidden_layers == 1 and len(student.encoder.layer) == 1
    assert teacher.config.num_hidden_layers == 2 and len(teacher.encoder.layer) == 2  # the teacher is not cut
    assert torch.equal(student.encoder.layer[0].output.dense.weight, teacher.encoder.layer[1].output.dense.weight)
    assert student.encoder.layer[0].output.dense.weight.data_ptr() != teacher.encoder.layer[1].output.dense.weight.data_ptr()
    assert not any(p.requires_grad for p in teacher.parameters())
    assert all(p.requires_grad for p in student.parameters())
    ids = torch.randint(5, 900, (2, 16))
    loss, n = objective.loss(ids, None, None, None, torch.device("cpu"))
    assert n == 32 and float(loss.detach()) > 0  # the embeddings agree, the skipped layer is missed


@pytest.mark.slow
def test_distillation_learns_resumes_and_exports_an_encoder_that_trains(teacher_dir, tmp_path):
    pc.build_corpus(teacher_dir, _news(), pc.build_exclusion([], n=8), tmp_path / "corpus", workers=1,
                    held_out=lambda aid: aid.endswith("3"))
    overrides = {"training.seq_len": "64", "training.batch_size": "8", "training.lr": "2e-3", "training.warmup_steps": "2",
                 "training.eval_every": "5", "training.eval_blocks": "16", "training.max_steps": "8", "training.num_threads": "1"}
    cfg = load_pretrain_config(ROOT / "configs" / "distil.yaml", overrides)
    assert cfg.distil.layers == 6 and cfg.encoder == "rasid-ar"  # what make distil runs
    out = tmp_path / "run"

    run_pretraining(cfg, teacher_dir, tmp_path / "corpus", out, objective=HiddenStateDistillation(teacher_dir, 1))
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert not any(k.startswith("teacher") for k in state["model"])  # only the student is saved
    state["progress"]["max_steps"] = 16
    torch.save(state, out / "checkpoint.pt")
    progress, model = run_pretraining(cfg, teacher_dir, tmp_path / "corpus", out, objective=HiddenStateDistillation(teacher_dir, 1))
    assert progress["resumed"] == [8] and progress["step"] == 16
    losses = [h["eval_loss"] for h in progress["history"]]
    assert losses[-1] < 0.8 * losses[0]  # it learns to follow the teacher

    encoder = export_encoder(model, teacher_dir, out / "encoder", name="tiny-1", progress=progress, base_origin={"name": "tiny"},
                             how="distilled to 1 layer")
    config = json.loads((encoder / "config.json").read_text())
    assert config["num_hidden_layers"] == 1
    origin = json.loads((encoder / "origin.json").read_text())
    assert origin["source"] == "tiny distilled to 1 layer (16 steps, 8,192 pieces seen)"
    loaded = transformers.AutoModelForTokenClassification.from_pretrained(str(encoder), num_labels=3)
    assert len(loaded.bert.encoder.layer) == 1
    assert torch.equal(loaded.bert.encoder.layer[0].output.dense.weight,
                       model.bert.encoder.layer[0].output.dense.weight.detach().half().float())
    card = distil_card({**origin, "base": "tiny"}, progress, {"articles": {"train": 50}, "pieces": {"train": 9000}}, cfg, [1], 2)
    assert "keeps layers 1 (0-based) of its\n2" in card and "non-commercial" in card and "steps: 16;" in card


@pytest.mark.slow
def test_rasid_distil_from_the_command_line_writes_a_student_with_its_card(teacher_dir, tmp_path, monkeypatch, capsys):
    from rasid.cli import main

    # the tokenised corpus is there, the raw news is not (as on a machine that was sent only the corpus)
    pc.build_corpus(teacher_dir, _news(), pc.build_exclusion([], n=8), tmp_path / "corpus", workers=1,
                    held_out=lambda aid: aid.endswith("3"))
    monkeypatch.setenv("RASID_SHARED_DATA", str(tmp_path / "no-shared-data"))
    config = tmp_path / "distil.yaml"
    config.write_text(f"encoder: {teacher_dir}\nname: tiny-1\noutput: {tmp_path / 'out'}\ndistil:\n  layers: 1\n"
                      f"corpus:\n  out: {tmp_path / 'corpus'}\n", encoding="utf-8")
    code = main(["distil", "--config", str(config), "--training.max_steps", "6", "--training.seq_len", "64",
                 "--training.batch_size", "4", "--training.eval_every", "3", "--training.eval_blocks", "8",
                 "--training.warmup_steps", "1", "--training.num_threads", "1"])
    assert code == 0, capsys.readouterr().err
    encoder = tmp_path / "out" / "encoder"
    assert capsys.readouterr().out.strip() == str(encoder)
    assert json.loads((encoder / "config.json").read_text())["num_hidden_layers"] == 1
    card = (encoder / "MODEL_CARD.md").read_text()
    assert card.startswith("# tiny-1: ") and "distilled to 1 layer\n" in card and "steps: 6;" in card
    assert (encoder / "loss_curve.png").stat().st_size > 5000
    assert json.loads((encoder / "origin.json").read_text())["name"] == "tiny-1"


def test_a_layer_count_the_teacher_cannot_give_is_one_line_before_any_corpus_work(teacher_dir, tmp_path, monkeypatch, capsys):
    from rasid.cli import main

    monkeypatch.setenv("RASID_SHARED_DATA", str(tmp_path / "no-shared-data"))  # no corpus either: the count is checked first
    config = tmp_path / "distil.yaml"
    config.write_text(f"encoder: {teacher_dir}\noutput: {tmp_path / 'out'}\ncorpus:\n  out: {tmp_path / 'corpus'}\n", encoding="utf-8")
    for layers in ("0", "3"):
        assert main(["distil", "--config", str(config), "--distil.layers", layers]) == 2
        err = capsys.readouterr().err  # beside transformers' weight-loading bar
        assert "Traceback" not in err
        assert [line for line in err.splitlines() if line.startswith("rasid:")] == [
            f"rasid: error: distil.layers: {layers} must be between 1 and the teacher's 2 layers"]
    assert not (tmp_path / "out" / "encoder").exists() and not (tmp_path / "corpus").exists()
