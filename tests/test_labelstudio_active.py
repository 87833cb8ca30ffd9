"""The uncertainty criterion of `rasid labelstudio next` and the CLI's local plumbing (no server needed)."""

from __future__ import annotations

import math
import os
import stat

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rasid.errors import RasidConfigError
from rasid.labelstudio.active import Uncertainty, article_uncertainty, most_uncertain, piece_uncertainty
from rasid.labelstudio.commands import (
    RasidLabelStudioError,
    model_version_of,
    resolve_token,
    resolve_url,
    seed_articles,
)


def distributions(pieces: int, tags: int) -> st.SearchStrategy[np.ndarray]:
    logits = arrays(np.float64, (pieces, tags), elements=st.floats(-20, 20))
    return logits.map(lambda x: np.exp(x - x.max(axis=1, keepdims=True)) / np.exp(x - x.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True))


@given(st.integers(1, 30).flatmap(lambda n: distributions(n, 9)), st.sampled_from(["entropy", "least-confidence"]))
@settings(max_examples=60, deadline=None)
def test_piece_uncertainty_is_between_0_and_1(probs, strategy):
    u = piece_uncertainty(probs, strategy)
    assert u.shape == (probs.shape[0],)
    assert np.all((u >= 0) & (u <= 1))


def test_certain_pieces_score_0_and_uniform_pieces_score_1():
    certain = np.eye(9)[[0, 3, 0]]
    uniform = np.full((2, 9), 1 / 9)
    assert piece_uncertainty(certain).tolist() == pytest.approx([0, 0, 0], abs=1e-9)
    assert piece_uncertainty(uniform).tolist() == pytest.approx([1, 1])
    assert piece_uncertainty(uniform, "least-confidence").tolist() == pytest.approx([8 / 9, 8 / 9])
    with pytest.raises(RasidConfigError, match="unknown uncertainty strategy"):
        piece_uncertainty(uniform, "margin")


@given(st.integers(1, 20).flatmap(lambda n: distributions(n, 5)), st.lists(st.floats(0.5, 1.0), max_size=5), st.integers(2, 4))
@settings(max_examples=60, deadline=None)
def test_the_score_is_per_piece_so_length_alone_does_not_win(probs, rel_scores, times):
    """An article that is the same article repeated scores the same: uncertainty per unit of reading."""
    once = article_uncertainty("a", probs, rel_scores)
    repeated = article_uncertainty("a", np.tile(probs, (times, 1)), rel_scores * times)
    assert repeated.score == pytest.approx(once.score, rel=1e-9, abs=1e-12)
    assert once.score == pytest.approx(once.entity + once.relation)


def test_the_formula_and_the_relation_term():
    probs = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    u = article_uncertainty("a", probs, [0.6, 0.9], relation_weight=1.0)
    entity = (math.log(2) / math.log(3)) / 2
    assert u.entity == pytest.approx(entity)
    assert u.relation == pytest.approx((0.4 + 0.1) / 2)
    assert article_uncertainty("a", probs, [0.6, 0.9], relation_weight=0.0).score == pytest.approx(entity)
    # a shakier relation makes the article more worth annotating
    assert article_uncertainty("a", probs, [0.55]).score > article_uncertainty("a", probs, [0.95]).score
    assert article_uncertainty("empty", np.zeros((0, 3)), []).score == 0.0


def test_random_is_a_seeded_baseline():
    a = article_uncertainty("x", np.zeros((3, 3)), [], strategy="random", seed=1)
    assert a == article_uncertainty("x", np.zeros((3, 3)), [], strategy="random", seed=1)
    assert a.score != article_uncertainty("x", np.zeros((3, 3)), [], strategy="random", seed=2).score
    assert 0.0 <= a.score < 1.0


def test_most_uncertain_first_and_ties_by_id():
    scores = [Uncertainty(i, s, s, 0.0, 1, 0) for i, s in [("b", 0.5), ("a", 0.5), ("c", 0.9), ("d", 0.1)]]
    assert [u.article_id for u in most_uncertain(scores, 3)] == ["c", "a", "b"]
    assert len(most_uncertain(scores, 10)) == 4
    with pytest.raises(RasidConfigError):
        most_uncertain(scores, 0)


def test_token_precedence_file_then_env_then_local_credentials(tmp_path, monkeypatch):
    local = tmp_path / "data"
    local.mkdir()
    (local / ".rasid-credentials").write_text("local-token\nsecret-password\n")
    monkeypatch.setenv("RASID_LS_DATA", str(local))
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    assert resolve_token(None) == "local-token"
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "env-token")
    assert resolve_token(None) == "env-token"
    given_file = tmp_path / "token"
    given_file.write_text("\nfile-token\n")
    assert resolve_token(str(given_file)) == "file-token"
    with pytest.raises(RasidLabelStudioError, match="cannot read the token file"):
        resolve_token(str(tmp_path / "missing"))
    monkeypatch.delenv("LABEL_STUDIO_API_KEY")
    monkeypatch.setenv("RASID_LS_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(RasidLabelStudioError, match="LABEL_STUDIO_API_KEY"):
        resolve_token(None)


def test_url_precedence(monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    assert resolve_url(None) == "http://127.0.0.1:8080"
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://10.0.0.1:9000/")
    assert resolve_url(None) == "http://10.0.0.1:9000"
    assert resolve_url("http://h:1") == "http://h:1"


def test_model_version_names_the_folder_and_changes_with_the_weights(tmp_path):
    run = tmp_path / "my-run"
    (run / "ner").mkdir(parents=True)
    (run / "ner" / "model.safetensors").write_bytes(b"weights-1")
    (run / "checkpoint-entities.pt").write_bytes(b"not part of the version")
    first = model_version_of(run)
    assert first.startswith("my-run-") and len(first) == len("my-run-") + 8
    (run / "checkpoint-entities.pt").write_bytes(b"changed")
    assert model_version_of(run) == first
    (run / "ner" / "model.safetensors").write_bytes(b"weights-2")
    assert model_version_of(run) != first
    (tmp_path / "empty").mkdir()
    with pytest.raises(RasidConfigError, match="no weights"):
        model_version_of(tmp_path / "empty")


def test_seed_articles_never_take_test_dev_or_annotated_ones(tmp_path):
    from rasid.articles import Article, write_articles

    gold = tmp_path / "data" / "gold"
    (gold / "annotations").mkdir(parents=True)
    write_articles(gold / "selection.jsonl", [Article(i, f"نص {i}", [], [], {"corpus": "x"}) for i in ["t1", "t2", "t3", "d1", "x1"]])
    (gold / "splits.yaml").write_text(yaml.safe_dump({"train": ["t1", "t2", "t3"], "dev": ["d1"], "test": ["x1"]}))
    (gold / "annotations" / "t1.yaml").write_text("{}")
    write_articles(gold / "train.jsonl", [Article("t2", "نص t2", [], [], None)])
    assert [a.id for a in seed_articles(10, root=tmp_path)] == ["t3"]
    assert seed_articles(10, root=tmp_path)[0].meta == {"corpus": "x"}


def test_the_credentials_file_of_a_server_is_private(tmp_path):
    from rasid.labelstudio.server import LabelStudioServer

    server = LabelStudioServer(data_dir=tmp_path)
    server.data_dir = tmp_path
    server._settle_credentials()
    mode = stat.S_IMODE(os.stat(tmp_path / ".rasid-credentials").st_mode)
    assert mode == 0o600
    assert resolve_token(str(tmp_path / ".rasid-credentials")) == server.token
