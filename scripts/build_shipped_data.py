"""Rebuild data/newsfane/ from the shared NewsFANE Gold file (see data/README.md).

Usage: python scripts/build_shipped_data.py [--source PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import logging
import sys

from rasid.corpora.shipped import build_newsfane
from rasid.errors import RasidError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the shipped silver data (NewsFANE mapped into the rasid schema).")
    parser.add_argument("--source", help="NewsFANE_Gold_2014_170K.txt (default: ../shared/data/ner/fane/)")
    parser.add_argument("--out", help="output folder (default: data/newsfane)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    kwargs = {k: v for k, v in (("source", args.source), ("out_dir", args.out)) if v}
    try:
        summary = build_newsfane(**kwargs)
    except RasidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, split in summary["splits"].items():
        print(f"{name}: {split['articles']} articles, {split['tokens']} tokens, entities {split['entities']}")
    print(f"clitic fixes: {summary['read']['clitic_fixes']}, IOB repairs: {summary['read']['iob_repairs']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
