"""The annotation loop through `rasid labelstudio` against a real Label Studio 1.23.2 (a few minutes).

One server for the module (from .venv-ls, on loopback). The CLI runs as a subprocess, the way a
person runs it: create a project from the schema -> import articles with a tiny model's
predictions -> annotate through the API as the editor would -> export to article JSONL -> train a
tiny model on it -> put its predictions back -> `next` ranks by the documented uncertainty.
And the failures a person meets: a wrong token, no server, a project with other labels.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rasid.articles import read_articles, write_articles
from rasid.labelstudio.convert import articles_to_tasks
from rasid.labelstudio.server import LabelStudioServer, _free_port, default_ls_venv, label_studio_executable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.labelstudio,
    pytest.mark.skipif(
        label_studio_executable() is None,
        reason=f"Label Studio env missing at {default_ls_venv()}: python3 -m venv .venv-ls && .venv-ls/bin/pip install label-studio==1.23.2",
    ),
]
pytest.importorskip("label_studio_sdk", reason="label-studio-sdk is not installed in this env")

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "data" / "gold" / "train.jsonl"
# Enough epochs on two short articles that the tiny tagger emits (scored) entities, in ~30 s.
TINY = ["--config", "configs/tiny.yaml", "--data.test", "null", "--training.epochs", "10", "--relations.epochs", "1"]


def rasid(*argv: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "rasid", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"rasid {' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def train_command(data: Path, output: Path) -> list[str]:
    return [sys.executable, "-m", "rasid", "train", *TINY, "--data.train", str(data), "--data.dev", str(data), "--output", str(output)]


def short_gold_articles(n: int):
    return sorted(read_articles(GOLD), key=lambda a: len(a.text))[:n]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("loop")


@pytest.fixture(scope="module")
def first_model_job(workdir):
    """Training of the 'current model' starts before the server, so the two overlap."""
    data = workdir / "gold2.jsonl"
    write_articles(data, short_gold_articles(2))
    log = (workdir / "train1.log").open("w")
    job = subprocess.Popen(train_command(data, workdir / "run1"), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    yield job, workdir / "run1"
    if job.poll() is None:
        job.kill()
    job.wait()
    log.close()


@pytest.fixture(scope="module")
def server(first_model_job, tmp_path_factory):
    with LabelStudioServer(data_dir=tmp_path_factory.mktemp("label-studio")) as running:
        yield running


@pytest.fixture(scope="module")
def first_model(first_model_job) -> Path:
    job, run = first_model_job
    assert job.wait(timeout=600) == 0, (run.parent / "train1.log").read_text()[-3000:]
    return run


@pytest.fixture(scope="module")
def env(server) -> dict:
    """The CLI's environment: the server's URL; the token only through --token-file (see `cli`)."""
    out = {k: v for k, v in os.environ.items() if k != "LABEL_STUDIO_API_KEY"}
    out["LABEL_STUDIO_URL"] = server.url
    return out


@pytest.fixture(scope="module")
def cli(server, env):
    token_file = str(Path(server.data_dir) / ".rasid-credentials")

    def call(action: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return rasid("labelstudio", action, *argv, "--token-file", token_file, env=env, check=check)

    return call


def created_project(done: subprocess.CompletedProcess) -> int:
    match = re.search(r"created project (\d+)", done.stdout)
    assert match, done.stdout
    return int(match.group(1))


def test_config_prints_the_schema_labels(schema):
    done = rasid("labelstudio", "config")
    for label in [*schema.entity_labels, *schema.relation_labels]:
        assert f'value="{label}"' in done.stdout


def test_predictions_in_annotations_out_train_and_back(server, cli, first_model, workdir, schema):
    ls = server.client()
    project = created_project(cli("create", "--title", "rasid loop"))
    assert ls.projects.get(id=project).title == "rasid loop"

    # 1. three gold articles, text only, pre-annotated by the current model
    gold = {a.id: a for a in short_gold_articles(3)}
    texts = workdir / "texts.jsonl"
    write_articles(texts, [type(a)(a.id, a.text, [], [], a.meta) for a in gold.values()])
    done = cli("import", "--project", str(project), "--input", str(texts), "--model", str(first_model))
    first_version = re.search(r"predictions of (run1-[0-9a-f]{8})", done.stdout).group(1)
    tasks = list(ls.tasks.list(project=project, fields="all"))
    assert len(tasks) == 3
    for task in tasks:
        [prediction] = task.predictions
        assert prediction.model_version == first_version
        assert prediction.result, "the tiny model should pre-annotate something"
        assert all(isinstance(r["score"], float) for r in prediction.result if r["type"] == "labels")
        assert prediction.score is not None
    assert ls.projects.get(id=project).model_version == first_version  # the editor pre-fills from it

    # 2. an annotator corrects two of them to the gold spans and relations (what the editor saves)
    task_of = {t.data["id"]: t.id for t in tasks}
    annotated = sorted(gold)[:2]
    for article_id in annotated:
        [built] = articles_to_tasks([gold[article_id]], schema)
        ls.annotations.create(id=task_of[article_id], result=built["annotations"][0]["result"], was_cancelled=False)

    # 3. one command brings them into training data
    exported = workdir / "annotations.jsonl"
    done = cli("export", "--project", str(project), "--output", str(exported))
    assert "1 tasks without a completed annotation left out" in done.stdout
    back = {a.id: a for a in read_articles(exported)}
    assert sorted(back) == annotated
    for article_id, article in back.items():
        want = gold[article_id]
        assert article.text == want.text
        assert [(e.start, e.end, e.label) for e in article.entities] == [(e.start, e.end, e.label) for e in want.entities]
        spans = lambda a: {e.id: (e.start, e.end) for e in a.entities}  # noqa: E731
        assert {(spans(article)[r.head], r.label, spans(article)[r.tail]) for r in article.relations} == {
            (spans(want)[r.head], r.label, spans(want)[r.tail]) for r in want.relations
        }

    # 4. train on the export, then its predictions go back onto every task
    second = workdir / "run2"
    trained = subprocess.run(train_command(exported, second), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr[-3000:]
    done = cli("predict", "--project", str(project), "--model", str(second), "--all")
    second_version = re.search(r"predictions of (run2-[0-9a-f]{8})", done.stdout).group(1)
    for task in ls.tasks.list(project=project, fields="all"):
        versions = {p.model_version: p for p in task.predictions}
        assert set(versions) == {first_version, second_version}
        latest = versions[second_version]
        regions = [r for r in latest.result if r["type"] == "labels"]
        assert regions and all(0.0 < r["score"] <= 1.0 for r in regions)
        assert latest.score == pytest.approx(sum(r["score"] for r in regions) / len(regions), abs=1e-3)
    assert ls.projects.get(id=project).model_version == second_version


def expected_uncertainty(predictor, text: str) -> float:
    """The criterion of docs/labelstudio.md, written out again independently of rasid.labelstudio.active."""
    from rasid.articles import Article

    [probs] = predictor.tagger.piece_probs([predictor.tagger.encode(text)])
    [predicted] = predictor.predict([Article("x", text, [], [], None)])
    p = np.clip(probs.astype(np.float64), 1e-12, 1.0)
    entropy = -(p * np.log(p)).sum(axis=1) / math.log(p.shape[1])
    relation = sum(1.0 - r.score for r in predicted.relations)
    return (float(entropy.sum()) + relation) / len(probs)


def test_next_picks_the_least_certain_unannotated_tasks(server, cli, first_model, workdir):
    from rasid.predictor import load_predictor

    ls = server.client()
    project = created_project(cli("create", "--title", "rasid next"))
    pool = [a for a in read_articles(ROOT / "data" / "gold" / "selection.jsonl")][:5]
    pool_file = workdir / "pool.jsonl"
    write_articles(pool_file, pool)
    cli("import", "--project", str(project), "--input", str(pool_file))
    task_of = {t.data["id"]: t.id for t in ls.tasks.list(project=project)}
    ls.annotations.create(id=task_of[pool[0].id], result=[], was_cancelled=False)  # done: never proposed again

    picks = workdir / "next.jsonl"
    done = cli("next", "--project", str(project), "--model", str(first_model), "--count", "3", "--output", str(picks))
    rows = [json.loads(line) for line in picks.read_text().splitlines()]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert len(done.stdout.splitlines()) == 3

    predictor = load_predictor(first_model)
    expected = {a.id: expected_uncertainty(predictor, a.text) for a in pool[1:]}
    assert pool[0].id not in {r["article_id"] for r in rows}
    # batching changes the last float bits, and an untrained model scores articles alike: compare with a tolerance
    for row in rows:
        assert row["score"] == pytest.approx(expected[row["article_id"]], abs=1e-4)
        assert row["task_id"] == task_of[row["article_id"]]
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    left_out = set(expected) - {r["article_id"] for r in rows}
    assert all(expected[a] <= rows[-1]["score"] + 1e-4 for a in left_out)

    # the picks wait in their own Data Manager tab
    [view] = [v for v in ls.views.list(project=project) if v.data["title"].startswith("rasid: next")]
    assert sorted(t.id for t in ls.tasks.list(project=project, view=view.id)) == sorted(r["task_id"] for r in rows)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rasid: error: "), done.stderr
    return lines[0]


def test_a_wrong_token_is_one_clear_line(server, env, workdir):
    wrong = "0" * 40
    done = rasid("labelstudio", "export", "--project", "1", "--output", str(workdir / "x.jsonl"), env={**env, "LABEL_STUDIO_API_KEY": wrong}, check=False)
    line = one_error_line(done)
    assert "refused the token (401" in line and server.url in line
    assert wrong not in done.stderr + done.stdout


def test_no_server_is_one_clear_line(cli, workdir):
    url = f"http://127.0.0.1:{_free_port()}"
    line = one_error_line(cli("export", "--project", "1", "--output", str(workdir / "x.jsonl"), "--url", url, check=False))
    assert f"cannot reach Label Studio at {url}" in line and "make labelstudio" in line


def test_a_project_with_other_labels_is_refused_naming_them(server, cli, workdir):
    ls = server.client()
    config = rasid("labelstudio", "config").stdout.replace('<Label value="AGENCY"', '<Label value="ORG"')
    project = ls.projects.create(title="someone else's", label_config=config).id
    line = one_error_line(cli("export", "--project", str(project), "--output", str(workdir / "x.jsonl"), check=False))
    assert "'ORG' is in the project but not in the schema" in line
    assert "'AGENCY' is in the schema but not in the project" in line
    assert not (workdir / "x.jsonl").exists()

    line = one_error_line(cli("export", "--project", "9999", "--output", str(workdir / "x.jsonl"), check=False))
    assert "project 9999 not found" in line
