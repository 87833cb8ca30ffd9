"""Which articles to annotate next: the ones the current model is least sure about.

The criterion (one number per article, higher = annotate sooner):

    uncertainty = ( sum over word pieces of u(piece)  +  relation_weight * sum over predicted relations of (1 - score) ) / pieces

- `u(piece)` comes from the entity tagger's per-piece tag distribution (`EntityTagger.piece_probs`,
  windows already merged): with the default `entropy` strategy it is the entropy of the
  distribution divided by log(number of tags), so it lies in [0, 1] and counts confusion between
  labels (B-LOC vs B-GPE) as well as between "entity" and "O"; with `least-confidence` it is
  1 - max probability.
- each relation the model kept adds 1 - its probability: a relation that only just cleared the
  threshold is a decision an annotator should check. Pairs the model dropped are not seen here.
- dividing by the number of pieces makes it uncertainty per unit of reading: an annotator reads
  the whole article, so the sum would favour long articles for their length alone, and the maximum
  would favour an article for one odd token.

`random` scores by a hash of the article id and a seed: the baseline that active learning must beat.
The top K are a batch: they are all annotated before the next retraining, so their order within
the batch matters little.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from rasid.articles import Article
from rasid.errors import RasidConfigError

__all__ = ["STRATEGIES", "Uncertainty", "piece_uncertainty", "article_uncertainty", "score_articles", "most_uncertain"]

log = logging.getLogger(__name__)

STRATEGIES = ("entropy", "least-confidence", "random")


@dataclass(frozen=True)
class Uncertainty:
    """Why an article ranks where it does; `score` = `entity` + `relation`."""

    article_id: str
    score: float
    entity: float  # sum of piece uncertainties / pieces
    relation: float  # relation_weight * sum of (1 - relation score) / pieces
    pieces: int
    relations: int

    def to_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def piece_uncertainty(probs: np.ndarray, strategy: str = "entropy") -> np.ndarray:
    """Per-piece uncertainty in [0, 1] from a [pieces, tags] matrix of tag probabilities."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f"expected a [pieces, tags] matrix, got shape {probs.shape}")
    if probs.shape[0] == 0:
        return np.zeros(0)
    if strategy == "entropy":
        if probs.shape[1] < 2:
            return np.zeros(probs.shape[0])
        p = np.clip(probs, 1e-12, 1.0)
        return np.clip(-(p * np.log(p)).sum(axis=1) / math.log(probs.shape[1]), 0.0, 1.0)
    if strategy == "least-confidence":
        return np.clip(1.0 - probs.max(axis=1), 0.0, 1.0)
    raise RasidConfigError(f"unknown uncertainty strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")


def article_uncertainty(
    article_id: str, probs: np.ndarray, relation_scores: Sequence[float], *, strategy: str = "entropy", relation_weight: float = 1.0, seed: int = 0
) -> Uncertainty:
    """The documented criterion for one article (see the module docstring)."""
    if strategy == "random":
        digest = hashlib.sha256(f"{seed}:{article_id}".encode()).digest()
        value = int.from_bytes(digest[:8], "big") / 2**64
        return Uncertainty(article_id, value, value, 0.0, int(np.asarray(probs).shape[0]), len(relation_scores))
    per_piece = piece_uncertainty(probs, strategy)
    pieces = int(per_piece.shape[0])
    if pieces == 0:
        return Uncertainty(article_id, 0.0, 0.0, 0.0, 0, len(relation_scores))
    entity = float(per_piece.sum()) / pieces
    relation = relation_weight * sum(1.0 - min(max(float(s), 0.0), 1.0) for s in relation_scores) / pieces
    return Uncertainty(article_id, entity + relation, entity, relation, pieces, len(relation_scores))


def most_uncertain(scores: Sequence[Uncertainty], count: int) -> list[Uncertainty]:
    """The `count` highest, most uncertain first; ties broken by article id so reruns agree."""
    if count < 1:
        raise RasidConfigError(f"--count must be at least 1, got {count}")
    return sorted(scores, key=lambda u: (-u.score, u.article_id))[:count]


def score_articles(
    predictor, articles: Sequence[Article], *, strategy: str = "entropy", relation_weight: float = 1.0, batch_size: int = 8, seed: int = 0
) -> list[tuple[Article, Uncertainty]]:
    """Predict `articles` (text only) and score each; returns (predicted article, uncertainty) pairs in input order."""
    if strategy not in STRATEGIES:
        raise RasidConfigError(f"unknown uncertainty strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    out: list[tuple[Article, Uncertainty]] = []
    for i in range(0, len(articles), batch_size):
        batch = [Article(a.id, a.text, [], [], a.meta) for a in articles[i : i + batch_size]]
        predicted, probs = predict_with_piece_probs(predictor, batch)
        for article, p in zip(predicted, probs):
            rel_scores = [r.score if r.score is not None else 1.0 for r in article.relations]
            out.append((article, article_uncertainty(article.id, p, rel_scores, strategy=strategy, relation_weight=relation_weight, seed=seed)))
    return out


def predict_with_piece_probs(predictor, articles: list[Article]) -> tuple[list[Article], list[np.ndarray]]:
    """`predictor.predict(articles)` plus the entity tagger's per-piece probabilities of each article.

    Both predictors (run folder and bundle) tag through `predictor.tagger`; its `piece_probs` is
    wrapped for the one call so the probabilities the decoder saw are kept instead of running the
    encoder a second time.
    """
    tagger = getattr(predictor, "tagger", None)
    if tagger is None or not hasattr(tagger, "piece_probs"):
        raise RasidConfigError(f"{type(predictor).__name__} has no entity tagger with piece probabilities to score uncertainty by")
    recorded: list[np.ndarray] = []
    original = tagger.piece_probs

    def recording(encodings):
        probs = original(encodings)
        recorded.extend(probs)
        return probs

    tagger.piece_probs = recording
    try:
        predicted = predictor.predict(articles)
    finally:
        del tagger.piece_probs  # the class's method again
    if len(recorded) != len(articles):  # a predictor that tags some other way: pay for a second pass
        log.debug("piece probabilities not seen during predict; computing them again")
        recorded = original([tagger.encode(a.text) for a in articles])
    return predicted, recorded
