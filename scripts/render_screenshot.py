#!/usr/bin/env python3
"""Rebuild docs/images/render-example.png, the README's picture of `rasid render`.

A gold article with relations (data/gold) beside a model's predictions (`--predictions`) or the
dictionary baseline's (rasid.gazetteer, built from data/newsfane/train.jsonl), rendered and shot
in headless Chromium.

    .venv/bin/python scripts/render_screenshot.py [--gold data/gold/test.jsonl --id ID --predictions runs/default/report.predictions.jsonl]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from rasid.articles import read_articles
from rasid.gazetteer import build_gazetteer, gazetteer_predict
from rasid.render import chromium_screenshot, render_article_html
from rasid.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default=str(ROOT / "data" / "gold" / "train.jsonl"))
    parser.add_argument("--id", default="ant-JA-internationalNews-588-20170319")
    parser.add_argument("--output", default=str(ROOT / "docs" / "images" / "render-example.png"))
    parser.add_argument("--predictions", default=None,
                        help="the model's predictions (e.g. runs/default/report.predictions.jsonl) instead of the dictionary baseline")
    parser.add_argument("--width", type=int, default=1500)
    parser.add_argument("--height", type=int, default=1020)
    args = parser.parse_args(argv)
    gold = next((a for a in read_articles(args.gold) if a.id == args.id), None)
    if gold is None:
        print(f"no article {args.id} in {args.gold}", file=sys.stderr)
        return 2
    if args.predictions:
        pred = next((a for a in read_articles(args.predictions) if a.id == args.id), None)
        if pred is None:
            print(f"no article {args.id} in {args.predictions}", file=sys.stderr)
            return 2
        title = "rasid render: gold (right) and the trained model (left)"
    else:
        pred = gazetteer_predict([gold], build_gazetteer(read_articles(ROOT / "data" / "newsfane" / "train.jsonl")))[0]
        title = "rasid render: gold (right) and a dictionary baseline (left)"
    page = render_article_html(gold, load_schema(), predicted=pred, title=title)
    with tempfile.TemporaryDirectory() as tmp:
        html_path = Path(tmp) / "page.html"
        html_path.write_text(page, encoding="utf-8")
        png = chromium_screenshot(html_path, args.output, width=args.width, height=args.height)
    from PIL import Image  # a matplotlib dependency

    # 256 colours without dithering: a third of the bytes, text as sharp
    Image.open(png).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(png, optimize=True)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
