"""Choose the gold-corpus articles and fix their splits (reproducible; see rasid.gold.selection).

    python scripts/select_gold_articles.py            # writes data/gold/selection.jsonl, splits.yaml
    python scripts/select_gold_articles.py --check    # recompute and compare with the committed files
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from rasid.errors import RasidError
from rasid.gold.corpora import DEFAULT_CORPORA_DIR
from rasid.gold.selection import SelectionConfig, run_selection

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA_DIR, help="folder with saudinewsnet/ and ant/")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "gold", help="where selection.jsonl and splits.yaml go")
    parser.add_argument("--excluded", type=Path, default=ROOT / "data" / "gold" / "excluded_ids.txt",
                        help="ids or URLs never to select (used in tests or benchmarks elsewhere)")
    parser.add_argument("--check", action="store_true", help="do not write; fail if the committed files differ")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if hasattr(signal, "SIGPIPE"):  # `| head` should end quietly
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        summary = run_selection(args.corpora, args.out, args.excluded, SelectionConfig(), check_only=args.check)
    except RasidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
