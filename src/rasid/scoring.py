"""Scoring and prediction with a trained model (run folder or bundle).

Kept apart from runner.py, which needs torch: `rasid evaluate` and `rasid predict` on a bundle
run where only the serving dependencies are installed.
"""

from __future__ import annotations

import json
from pathlib import Path

from rasid.articles import Article, write_articles
from rasid.data import load_articles
from rasid.errors import RasidDataError
from rasid.evaluation import format_report, score_articles
from rasid.io import atomic_write
from rasid.schema import Schema

__all__ = ["evaluate_model", "predict_file", "check_articles", "write_json"]


def check_articles(articles: list[Article], schema: Schema, path: str) -> None:
    from rasid.validate import validate_articles

    problems = validate_articles(((f"article #{i + 1}", a) for i, a in enumerate(articles)), schema, path)
    if problems:
        more = f" (and {len(problems) - 1} more; run `rasid validate {path}`)" if len(problems) > 1 else ""
        raise RasidDataError(f"{problems[0]}{more}")


def write_json(path: Path, obj) -> None:
    with atomic_write(path) as handle:
        json.dump(obj, handle, ensure_ascii=False, indent=1)


def evaluate_model(model_path: Path, data_path: Path, output: Path, plots: bool = True) -> dict:
    from rasid.predictor import load_predictor

    predictor = load_predictor(model_path)
    gold = load_articles(data_path, predictor.schema)
    check_articles(gold, predictor.schema, str(data_path))
    pred = predictor.predict([Article(id=a.id, text=a.text, meta=a.meta) for a in gold])
    report = score_articles(gold, pred, predictor.schema, where=str(data_path))
    write_json(output, report)
    write_articles(output.with_suffix(".predictions.jsonl"), pred)
    if plots:
        from rasid.plots import report_plots
        from rasid.render import render_file

        report_plots(report, output.parent, stem=output.stem, gold=gold, pred=pred)
        if data_path.suffix == ".jsonl":  # the page reads gold as JSONL
            render_file(data_path, output.with_suffix(".html"), predictions=output.with_suffix(".predictions.jsonl"), order="worst", limit=50,
                        schema=predictor.schema)
    print(format_report(report))
    return report


def predict_file(model_path: Path, input_path: Path, output: Path, batch_size: int = 8, backend: str = "auto") -> int:
    from rasid.predictor import load_predictor, stream_predictions

    predictor = load_predictor(model_path, backend=backend)
    return stream_predictions(predictor, input_path, output, batch_size=batch_size)
