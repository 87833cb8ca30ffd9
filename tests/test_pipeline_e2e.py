"""Train → evaluate → predict through the real CLI with a tiny from-scratch model, on gold articles."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rasid.articles import read_articles, write_articles

ROOT = Path(__file__).resolve().parents[1]
REPORT_KEYS = {"entities", "entities_exact", "relations", "relation_facts", "documents"}


def rasid(*args, check=True, **kw):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-m", "rasid", *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"rasid {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def small_data(tmp_path_factory):
    """A few annotated gold articles (entities and relations) split in two."""
    arts = [a for a in read_articles(ROOT / "data" / "gold" / "train.jsonl") if a.relations][:6]
    assert len(arts) >= 4, "the gold corpus should hold annotated articles with relations"
    d = tmp_path_factory.mktemp("data")
    write_articles(d / "train.jsonl", arts[:-2])
    write_articles(d / "dev.jsonl", arts[-2:])
    return d


@pytest.fixture(scope="session")
def tiny_run(small_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny"
    rasid("train", "--config", "configs/tiny.yaml", "--output", out, "--data.train", small_data / "train.jsonl",
          "--data.dev", small_data / "dev.jsonl", "--data.test", small_data / "dev.jsonl", "--training.epochs", 2, "--relations.epochs", 1)
    return out


@pytest.mark.slow
def test_train_writes_a_complete_run(tiny_run):
    for name in ("config.yaml", "schema.yaml", "encoder.json", "metrics.json", "report.json", "ner/config.json", "relations/relation_head.safetensors"):
        assert (tiny_run / name).exists(), name
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["encoder"] == "tiny" and len(metrics["entities"]["history"]) == 2
    assert metrics["relations"]["best_epoch"] == 1
    assert set(json.loads((tiny_run / "report.json").read_text())) == REPORT_KEYS
    assert (tiny_run / "report-f1.png").stat().st_size > 1000
    encoder = json.loads((tiny_run / "encoder.json").read_text())
    assert encoder["from_scratch"] is True


@pytest.mark.slow
def test_evaluate_writes_the_contract_report(tiny_run, small_data, tmp_path):
    out = tmp_path / "report.json"
    proc = rasid("evaluate", "--model", tiny_run, "--data", small_data / "dev.jsonl", "--output", out)
    report = json.loads(out.read_text())
    assert set(report) == REPORT_KEYS and report["documents"] == 2
    assert report["entities"]["scheme"] == "seqeval IOB2 strict over whitespace words"
    for key in ("entities", "entities_exact", "relations", "relation_facts"):
        assert set(report[key]["micro"]) == {"precision", "recall", "f1"}
    assert set(report["entities"]["per_label"]) == {"LOC", "ARMED_GROUP", "OFFICIAL", "AGENCY"}
    assert "micro" in proc.stdout  # the readable table


@pytest.mark.slow
def test_predict_jsonl_and_txt_folder(tiny_run, small_data, tmp_path):
    out = tmp_path / "pred.jsonl"
    rasid("predict", "--model", tiny_run, "--input", small_data / "dev.jsonl", "--output", out)
    gold = {a.id: a for a in read_articles(small_data / "dev.jsonl")}
    preds = list(read_articles(out))
    assert [p.id for p in preds] == list(gold)
    for p in preds:
        assert p.text == gold[p.id].text
        for e in p.entities:
            assert p.text[e.start : e.end] == e.text and e.score is not None
        ids = {e.id for e in p.entities}
        assert all(r.head in ids and r.tail in ids for r in p.relations)
    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "one.txt").write_text(preds[0].text, encoding="utf-8")
    out2 = tmp_path / "pred2.jsonl"
    rasid("predict", "--model", tiny_run, "--input", folder, "--output", out2)
    again = list(read_articles(out2))
    assert again[0].id == "one" and [(e.start, e.end) for e in again[0].entities] == [(e.start, e.end) for e in preds[0].entities]


def test_bad_input_is_one_clear_line_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "نص"}\n{"id": "b", "text": \n', encoding="utf-8")
    out = tmp_path / "out" / "report.json"
    proc = rasid("validate", bad, check=False)
    assert proc.returncode == 1 and "bad.jsonl" in proc.stderr and "line 2" in proc.stderr
    proc = rasid("train", "--config", "configs/tiny.yaml", "--output", tmp_path / "run", "--data.train", bad, check=False)
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("rasid: error")]
    assert proc.returncode == 2 and len(lines) == 1 and "bad.jsonl" in lines[0] and "line 2" in lines[0]
    assert "Traceback" not in proc.stderr
    proc = rasid("evaluate", "--model", tmp_path / "nothing", "--data", bad, "--output", out, check=False)
    assert proc.returncode == 2 and "nothing" in proc.stderr and not out.exists()
    proc = rasid("train", "--config", "configs/tiny.yaml", "--training.epochz", "3", check=False)
    assert proc.returncode == 2 and "unknown config key --training.epochz" in proc.stderr


@pytest.mark.slow
def test_training_resumes_after_a_kill(small_data, tmp_path):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "rasid", "train", "--config", "configs/tiny.yaml", "--output", str(out), "--data.train",
            str(small_data / "train.jsonl"), "--data.dev", str(small_data / "dev.jsonl"), "--data.test", "null",
            "--training.epochs", "6", "--training.checkpoint_every", "3", "--training.batch_size", "2", "--relations.enabled", "false"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    ckpt = out / "checkpoint-entities.pt"
    deadline = time.time() + 240
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert ckpt.exists(), "no checkpoint was written"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming from" in resumed.stderr
    history = json.loads((out / "metrics.json").read_text())["entities"]["history"]
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1)) and history[-1]["epoch"] >= 1


@pytest.mark.slow
def test_two_process_distributed_smoke_run(small_data, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29531", "-m", "rasid", "train",
         "--config", "configs/tiny.yaml", "--output", str(out), "--data.train", str(small_data / "train.jsonl"),
         "--data.dev", str(small_data / "dev.jsonl"), "--data.test", "null", "--training.epochs", "1", "--relations.epochs", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "ner" / "config.json").exists() and (out / "relations" / "relation_labels.json").exists()
