"""`make bench` / `make bench-quick`: run the benchmarks and write results/bench/ (see rasid.bench)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=None, help="benchmark config (default configs/bench.yaml, or bench-quick.yaml with --quick)")
    parser.add_argument("--quick", action="store_true", help="the CI version: tiny encoder, a few articles (< 3 min)")
    parser.add_argument("--output", default=None, help="results folder (default results/bench, or results/bench-quick)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from rasid.bench.config import load_bench_config
    from rasid.bench.runner import run_bench
    from rasid.errors import RasidError

    config = Path(args.config) if args.config else ROOT / "configs" / ("bench-quick.yaml" if args.quick else "bench.yaml")
    output = Path(args.output) if args.output else ROOT / "results" / ("bench-quick" if args.quick else "bench")
    try:
        results = run_bench(load_bench_config(config), output, config_path=str(config))
    except RasidError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    print((output / "bench.md").read_text(encoding="utf-8"))
    for name, value in results["ratios"].items():
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
