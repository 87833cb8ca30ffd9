"""`rasid bench-inference`: several bundles' backends timed on the same articles in one process,
with F1 from the very runs that were timed. The tiny bundle, and a copy of it, stand in for a
12-layer and a distilled bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bundle_support import rasid_cli, tiny_bundle


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    return tiny_bundle(tmp_path_factory.getbasetemp() / "rasid-tiny")


def test_two_bundles_side_by_side_with_ratios_against_the_first(tiny, tmp_path):
    twin = tmp_path / "twin"
    shutil.copytree(tiny["bundle"], twin)
    out = tmp_path / "inference.json"
    proc = rasid_cli("bench-inference", str(tiny["bundle"]), str(twin), "--data", str(tiny["test"]),
                     "--backends", "pytorch_fp32,onnx_int8", "--output", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    section = json.loads(out.read_text())
    first = Path(tiny["bundle"]).name
    assert list(section["backends"]) == [f"{first}/pytorch_fp32", f"{first}/onnx_int8", "twin/pytorch_fp32", "twin/onnx_int8"]
    assert section["baseline"] == f"{first}/pytorch_fp32"
    rows = section["backends"]
    n = sum(1 for _ in tiny["test"].open(encoding="utf-8"))
    assert all(r["articles"] == n and r["articles_per_second"] > 0 for r in rows.values())
    assert rows[f"{first}/pytorch_fp32"]["speedup_vs_pytorch"] == 1.0
    # the same weights give the same predictions, whichever folder they are read from
    assert rows["twin/onnx_int8"]["entity_f1"] == rows[f"{first}/onnx_int8"]["entity_f1"]
    assert rows["twin/pytorch_fp32"]["relation_f1"] == rows[f"{first}/pytorch_fp32"]["relation_f1"]
    assert section["bundles"]["twin"]["int8_graphs_mb"] == section["bundles"][first]["int8_graphs_mb"] > 0
    table = proc.stdout.splitlines()
    assert table[0].startswith("| bundle / backend | articles/s |") and len(table) == 2 + 4
    assert table[4].startswith("| twin/pytorch_fp32 |")


def test_bundles_with_different_schemas_are_refused_in_one_line(tiny, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(tiny["bundle"], other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["schema"]["entities"].pop(next(iter(manifest["schema"]["entities"])))
    (other / "manifest.json").write_text(json.dumps(manifest))
    proc = rasid_cli("bench-inference", str(tiny["bundle"]), str(other), "--data", str(tiny["test"]))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "different schemas" in proc.stderr
    proc = rasid_cli("bench-inference", str(tiny["bundle"]), "--data", str(tiny["test"]), "--backends", "tensorrt")
    assert proc.returncode == 2 and "unknown backend 'tensorrt'" in proc.stderr
