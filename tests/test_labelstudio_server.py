"""End to end against a real Label Studio 1.23.2 server from .venv-ls (about a minute).

Project from the generated config -> import tasks with predictions from `articles_to_tasks`
-> an annotator's annotation through the API -> export -> articles.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rasid.errors import RasidConfigError
from rasid.labelstudio import export_to_articles, labeling_config, read_export
from rasid.labelstudio.client import check_project, create_project, export_json, import_articles, relation, span
from rasid.labelstudio.convert import META_KEY
from rasid.labelstudio.server import LabelStudioServer, default_ls_venv, label_studio_executable
from rasid.schema import load_schema

pytestmark = [
    pytest.mark.slow,
    pytest.mark.labelstudio,
    pytest.mark.skipif(
        label_studio_executable() is None,
        reason=f"Label Studio env missing at {default_ls_venv()}: python3 -m venv .venv-ls && .venv-ls/bin/pip install label-studio==1.23.2",
    ),
]
pytest.importorskip("label_studio_sdk", reason="label-studio-sdk is not installed in this env")

EXPORT = Path(__file__).parent / "fixtures" / "labelstudio" / "export.json"


def without_ls_ids(article) -> dict:
    d = article.to_dict()
    d["meta"] = {k: v for k, v in (d.get("meta") or {}).items() if k != META_KEY}
    return d


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LabelStudioServer(data_dir=tmp_path_factory.mktemp("label-studio")) as running:
        yield running


def test_predictions_in_annotation_out(server):
    schema = load_schema()
    ls = server.client()
    project_id = create_project(ls, schema, "rasid integration test")
    check_project(ls, project_id, schema)

    predicted = export_to_articles(read_export(EXPORT), schema, annotation="prediction")
    task_ids = import_articles(ls, project_id, predicted, schema, as_predictions=True, model_version="it-1")
    assert len(task_ids) == 2

    # an annotator opens the first task and fixes the model's span, then links two mentions
    text = predicted[0].text
    isis, nangarhar = span(text, "داعش", "ARMED_GROUP"), span(text, "ننغرهار", "LOC")
    stump, pentagon = span(text, "آدام ستامب", "OFFICIAL"), span(text, "البنتاغون", "AGENCY", occurrence=2)
    result = [isis, nangarhar, stump, pentagon, relation(isis, nangarhar, "BASED_IN"), relation(pentagon, stump, "MEMBER_OF", direction="left")]
    created = ls.annotations.create(id=task_ids[0], result=result, was_cancelled=False)

    tasks = export_json(ls, project_id)
    [article] = export_to_articles(tasks, schema, source_path="server export")
    assert article.id == predicted[0].id and article.text == text
    assert article.meta[META_KEY]["annotation_id"] == created.id
    assert article.meta["license"] == "Apache-2.0"
    assert [(e.text, e.label) for e in article.entities] == [("داعش", "ARMED_GROUP"), ("ننغرهار", "LOC"), ("البنتاغون", "AGENCY"), ("آدام ستامب", "OFFICIAL")]
    assert all(text[e.start : e.end] == e.text for e in article.entities)
    by_id = article.entity_by_id()
    assert {(by_id[r.head].text, r.label, by_id[r.tail].text) for r in article.relations} == {
        ("داعش", "BASED_IN", "ننغرهار"),
        ("آدام ستامب", "MEMBER_OF", "البنتاغون"),
    }

    # the predictions came back as they went in, scores and all
    back = export_to_articles(tasks, schema, annotation="prediction")
    assert [without_ls_ids(a) for a in back] == [without_ls_ids(a) for a in predicted]
    assert {a.meta[META_KEY]["model_version"] for a in back} == {"it-1"}


def test_a_project_with_other_labels_is_refused(server):
    schema = load_schema()
    ls = server.client()
    other = labeling_config(schema).replace('<Label value="AGENCY"', '<Label value="ORG"')
    project_id = ls.projects.create(title="not rasid", label_config=other).id
    with pytest.raises(RasidConfigError, match="'ORG' is in the project but not in the schema"):
        check_project(ls, project_id, schema)


def test_stop_ends_the_whole_process_group_and_a_restart_keeps_admin_and_token(server):
    pid = server._process.pid
    server.stop()
    assert not _alive(pid)
    server.start()  # same data dir: no migrations, same admin and token
    assert server.client().projects.list() is not None
    assert server.token not in repr(server)


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True
