"""The notebooks run end to end on small data, show their plots and pages, and are stored stripped."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from rasid.articles import Article, Relation, read_articles, write_articles

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

nbclient = pytest.importorskip("nbclient", reason="nbclient not installed (pinned in requirements/train.txt)")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")


def _strip_module():
    spec = importlib.util.spec_from_file_location("strip_notebook_outputs", ROOT / "scripts" / "strip_notebook_outputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _execute(name: str, env: dict[str, str], monkeypatch) -> dict:
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # the kernel inherits the environment: that is how the parameters reach it
    # the kernel spec says `python`: make that this interpreter, with the project installed
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    return nb


def _outputs(nb) -> tuple[list, list[str], list[str]]:
    errors, mimes, html = [], [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, "a cell did not run"
        for out in cell.outputs:
            if out.output_type == "error":
                errors.append(f"{out.ename}: {out.evalue}")
            mimes += list(out.get("data", {}))
            if "text/html" in out.get("data", {}):
                html.append(out["data"]["text/html"])
    return errors, mimes, html


def test_committed_notebooks_are_stripped():
    strip = _strip_module()
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        assert strip.dumps(strip.strip(json.loads(text))) == text, f"{path.name} has outputs: run scripts/strip_notebook_outputs.py"
    assert strip.main(["--check"]) == 0


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_data_notebook_runs_on_small_data(monkeypatch):
    nb = _execute("01-data.ipynb", {"RASID_NB_LIMIT": "6"}, monkeypatch)
    errors, mimes, html = _outputs(nb)
    assert not errors, errors
    assert mimes.count("image/png") >= 3  # labels per source, lengths, density
    assert any("<iframe srcdoc=" in h and "dir=&quot;rtl&quot;" in h for h in html)
    # and running it leaves nothing in the source once stripped
    strip = _strip_module()
    assert strip.dumps(strip.strip(json.loads(nbformat.writes(nb)))) == (NOTEBOOKS / "01-data.ipynb").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_errors_notebook_runs_on_the_baseline(monkeypatch):
    nb = _execute("02-errors.ipynb", {"RASID_NB_LIMIT": "6", "RASID_NB_WORST": "2"}, monkeypatch)
    errors, mimes, html = _outputs(nb)
    assert not errors, errors
    assert mimes.count("image/png") >= 3  # f1, entity errors, entity confusion at least
    page = next(h for h in html if "<iframe srcdoc=" in h)
    assert page.count("class=&quot;article&quot;") == 2 and "data-side=&quot;pred&quot;" in page


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_errors_notebook_with_a_predictions_file_and_relations(tmp_path, monkeypatch):
    # gold with relations; "predictions" that drop one relation and relabel one entity
    from test_render import clitic_article

    gold = [clitic_article()] + list(read_articles(ROOT / "data" / "newsfane" / "test.jsonl"))[:2]
    pred = []
    for art in gold:
        ents = [dataclasses.replace(e) for e in art.entities]
        if ents:
            ents[-1].label = "AGENCY" if ents[-1].label != "AGENCY" else "LOC"
        pred.append(Article(art.id, art.text, ents, [Relation(r.head, r.tail, r.label, 0.9) for r in art.relations[:1]]))
    write_articles(tmp_path / "gold.jsonl", gold)
    write_articles(tmp_path / "pred.jsonl", pred)
    nb = _execute("02-errors.ipynb", {"RASID_NB_GOLD": str(tmp_path / "gold.jsonl"), "RASID_NB_PREDICTIONS": str(tmp_path / "pred.jsonl"),
                                      "RASID_NB_LIMIT": "0", "RASID_NB_WORST": "3"}, monkeypatch)
    errors, mimes, html = _outputs(nb)
    assert not errors, errors
    assert mimes.count("image/png") >= 4  # now with the relation confusion too
    assert any("CONTROLS" in h and "FIGHTS" in h and "predicted" in h for h in html if "<iframe" not in h)  # relation confusion table
