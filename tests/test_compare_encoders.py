"""`rasid compare-encoders`: every stage really trains and measures (a tiny encoder, a few articles),
rows merge across runs, and the Markdown table is written from the JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("torch")

from rasid.encoders.compare import CompareConfig, compare_encoders, markdown_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RASID_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _cfg(out: Path) -> CompareConfig:
    return CompareConfig(
        encoders=["tiny"], anercorp_epochs=1, anercorp_max_train_articles=3, anercorp_max_test_articles=3,
        gold_overrides={"training.epochs": 1, "relations.epochs": 1, "data.max_train_articles": 3, "data.test": "null",
                        "training.num_threads": 1},
        speed_threads=1, speed_articles=2, speed_train_windows=9, output=str(out))


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "ner" / "anercorp").is_dir(), reason="needs the shared ANERCorp files")
def test_all_stages_fill_one_row_and_rows_merge(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the configs name project paths
    cfg = _cfg(tmp_path)
    results = compare_encoders(cfg)
    row = results["rows"]["tiny"]
    assert 0.0 <= row["anercorp"]["f1"] <= 1.0 and row["anercorp"]["train_articles"] == 3
    assert set(row["anercorp"]["per_label"]) == {"PERS", "LOC", "ORG", "MISC"}
    assert 0.0 <= row["gold"]["dev_entity_f1"] <= 1.0 and row["gold"]["dev_relation_f1"] is not None
    cost = row["cost"]
    assert cost["parameters"] > 10_000 and cost["weights_mb"] > 0
    assert cost["cpu_train_tokens_per_s"] > 0 and cost["cpu_articles_per_s"] > 0 and cost["cpu_threads"] == 1
    on_disk = json.loads((tmp_path / "compare.json").read_text())
    assert on_disk["rows"]["tiny"]["cost"]["parameters"] == cost["parameters"]
    table = (tmp_path / "compare.md").read_text()
    assert "| tiny | " in table and "CPU articles/s" in table

    # a later run of one stage for the same encoder replaces that stage only
    again = compare_encoders(cfg, stages=("cost",))
    assert again["rows"]["tiny"]["anercorp"] == row["anercorp"] and again["rows"]["tiny"]["gold"] == row["gold"]


def test_table_marks_missing_measurements():
    table = markdown_table({"rows": {"x": {"cost": {"parameters": 2_500_000, "weights_mb": 10.0}}}, "machines": {}})
    line = next(row for row in table.splitlines() if row.startswith("| x |"))
    assert line.split(" | ")[1:4] == ["–", "–", "–"] and "2.5 M" in line and "10 MB" in line


def test_unknown_stage_is_one_clear_error(capsys, tmp_path):
    from rasid.cli import main

    config = tmp_path / "c.yaml"
    config.write_text(f"encoders: [tiny]\noutput: {tmp_path / 'out'}\n")
    assert main(["compare-encoders", "--config", str(config), "--stages", "bogus"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown stage 'bogus'" in err


def test_rows_measured_on_different_machines_each_say_where(tmp_path):
    from rasid.encoders.compare import _load

    gpu = {"cpu": "Xeon", "cores": 16, "torch_threads": 4, "gpu": "NVIDIA H200", "python": "3.12", "versions": {"torch": "2.11"}}
    cpu = {"cpu": "Xeon", "cores": 2, "torch_threads": 2, "gpu": None, "python": "3.11", "versions": {"torch": "2.13"}}
    # an older file: machines keyed by stage, so re-running e5's ANERCorp on the CPU replaced the GPU's entry
    (tmp_path / "compare.json").write_text(json.dumps({
        "rows": {"rasid-ar": {"anercorp": {"f1": 0.7, "machine": "NVIDIA H200"}, "gold": {"machine": "NVIDIA H200"}},
                 "e5-small": {"anercorp": {"f1": 0.6, "machine": "Xeon"}}},
        "machines": {"anercorp": cpu, "gold": json.dumps(gpu)}}))
    table = markdown_table(_load(tmp_path / "compare.json"))
    assert "- anercorp on NVIDIA H200 (rasid-ar); torch 2.11, python 3.12" in table
    assert "- anercorp on Xeon, 2 cores, 2 torch threads (e5-small); torch 2.13, python 3.11" in table
    assert "- gold on NVIDIA H200 (rasid-ar)" in table
