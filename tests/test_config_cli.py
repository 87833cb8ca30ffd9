"""Configs load with bases and overrides; the CLI converts and validates like a user would run it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rasid.articles import read_articles
from rasid.cli import _overrides
from rasid.config import load_config
from rasid.errors import RasidConfigError, RasidError

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([sys.executable, "-m", "rasid", *map(str, args)], cwd=ROOT, capture_output=True, text=True)


def test_base_chain_and_overrides():
    cfg = load_config(ROOT / "configs" / "quick.yaml", {"training.epochs": "3", "model.encoder": "tiny", "data.test": "null",
                                                        "relations.enabled": "false", "training.lr": "1e-3"})
    assert cfg.training.epochs == 3 and cfg.model.encoder == "tiny" and cfg.data.test is None
    assert cfg.relations.enabled is False and cfg.training.lr == pytest.approx(1e-3)
    assert cfg.model.max_length == 128  # from quick.yaml
    assert cfg.training.freeze_word_embeddings is True  # inherited from train.yaml


def test_bad_overrides_are_refused():
    with pytest.raises(RasidConfigError, match="unknown config key --training.epochz"):
        load_config(None, {"training.epochz": "3"})
    with pytest.raises(RasidConfigError, match="expects true or false"):
        load_config(None, {"relations.enabled": "maybe"})
    with pytest.raises(RasidConfigError, match="stride"):
        load_config(None, {"model.stride": "300", "model.max_length": "256"})
    assert _overrides(["--training.epochs", "2", "--model.encoder=tiny"]) == {"training.epochs": "2", "model.encoder": "tiny"}
    with pytest.raises(RasidError):
        _overrides(["--training.epochs"])


def test_saved_config_reloads_identically(tmp_path):
    cfg = load_config(ROOT / "configs" / "train.yaml")
    cfg.save(tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml").to_dict() == cfg.to_dict()


def test_convert_labelstudio_round_trip_via_cli(tmp_path):
    export = ROOT / "tests" / "fixtures" / "labelstudio" / "export.json"
    first = tmp_path / "a.jsonl"
    assert run("convert", export, first).returncode == 0
    back = tmp_path / "tasks.json"
    assert run("convert", first, back).returncode == 0
    assert isinstance(json.loads(back.read_text()), list)
    second = tmp_path / "b.jsonl"
    assert run("convert", back, second).returncode == 0
    a = [x.to_dict() for x in read_articles(first)]
    b = [x.to_dict() for x in read_articles(second)]
    strip = lambda arts: [{k: v for k, v in d.items() if k != "meta"} for d in arts]  # noqa: E731
    assert strip(a) == strip(b) and a


def test_validate_shipped_data_is_clean():
    proc = run("validate", *sorted((ROOT / "data" / "newsfane").glob("*.jsonl")))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": ok") == 3


def test_help_is_there_for_every_verb():
    for verb in ("train", "evaluate", "predict", "validate", "convert", "export", "serve", "encoder"):
        proc = run(verb, "--help")
        assert proc.returncode == 0 and "usage: rasid" in proc.stdout, verb
