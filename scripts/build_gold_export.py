"""The gold corpus tool for annotators and for the build (logic in rasid.gold).

    python scripts/build_gold_export.py                      # resolve all files, write the export
    python scripts/build_gold_export.py --list [--split train]   # articles and whether annotated
    python scripts/build_gold_export.py --show ID            # print an article to read
    python scripts/build_gold_export.py --new ID --annotator NAME [--pass 2]   # start a file
    python scripts/build_gold_export.py --check FILE [FILE ...] [--markup]     # check your files
    python scripts/build_gold_export.py --agreement          # F1 between pass 1 and annotations/pass2/

The build writes data/gold/gold_labelstudio.json and data/gold/{train,dev,test}.jsonl only
when every file resolves; otherwise it lists every error and exits 1.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from rasid.errors import RasidError
from rasid.gold.agreement import compare_passes
from rasid.gold.export import GoldPaths, build_gold, format_counts, load_selection, load_splits, resolve_file
from rasid.gold.show import format_article, format_resolution, skeleton
from rasid.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, default=ROOT / "data" / "gold", help="the gold folder (selection, splits, annotations)")
    parser.add_argument("--schema", type=Path, default=None, help="schema file (default configs/schema.yaml)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", nargs="+", type=Path, metavar="FILE", help="resolve these files and show spans, relations, warnings")
    mode.add_argument("--show", metavar="ID", help="print the article ID as stored")
    mode.add_argument("--new", metavar="ID", help="create the annotation file for ID (with --annotator) and print the article")
    mode.add_argument("--list", action="store_true", help="list selected articles, their split and whether annotated")
    mode.add_argument("--agreement", action="store_true", help="entity and relation F1 between annotations/ and annotations/pass2/")
    parser.add_argument("--annotator", help="your name, for --new")
    parser.add_argument("--pass", dest="pass_", type=int, default=1, choices=(1, 2), help="2 for an independent second pass (goes to annotations/pass2/)")
    parser.add_argument("--split", choices=("train", "dev", "test"), help="with --list: only this split")
    parser.add_argument("--markup", action="store_true", help="with --check: also print the text with every mention bracketed")
    parser.add_argument("--quiet", action="store_true", help="build: do not print warnings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if hasattr(signal, "SIGPIPE"):  # `--list | head` should end quietly
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    paths = GoldPaths(args.gold)
    try:
        schema = load_schema(args.schema)
        if args.check:
            return _check(args.check, paths, schema, args.markup)
        if args.show or args.new:
            return _show_or_new(args, paths)
        if args.list:
            return _list(paths, args.split)
        if args.agreement:
            return _agreement(paths, schema)
        return _build(paths, schema, args.quiet)
    except RasidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _check(files: list[Path], paths: GoldPaths, schema, show_markup: bool) -> int:
    selection, splits = load_selection(paths.selection), load_splits(paths.splits)
    failed = 0
    for path in files:
        try:
            print(format_resolution(resolve_file(path, selection, splits, schema), show_markup))
        except RasidError as exc:
            failed += 1
            print(f"ERROR {exc}", file=sys.stderr)
    return 1 if failed else 0


def _show_or_new(args, paths: GoldPaths) -> int:
    art_id = args.show or args.new
    selection = load_selection(paths.selection)
    if art_id not in selection:
        print(f"error: {art_id!r} is not in {paths.selection}", file=sys.stderr)
        return 1
    if args.new:
        if not args.annotator:
            print("error: --new needs --annotator NAME", file=sys.stderr)
            return 1
        folder = paths.annotations if args.pass_ == 1 else paths.annotations / "pass2"
        target = folder / f"{art_id}.yaml"
        if target.exists():
            print(f"error: {target} exists already; edit it", file=sys.stderr)
            return 1
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(skeleton(art_id, args.annotator, args.pass_), encoding="utf-8")
        print(f"# created {target}")
    print(format_article(selection[art_id], load_splits(paths.splits).get(art_id, "")))
    return 0


def _list(paths: GoldPaths, split: str | None) -> int:
    selection, splits = load_selection(paths.selection), load_splits(paths.splits)
    for art_id, rec in selection.items():
        if split and splits.get(art_id) != split:
            continue
        done = "done" if (paths.annotations / f"{art_id}.yaml").exists() else "todo"
        p2 = " pass2" if (paths.annotations / "pass2" / f"{art_id}.yaml").exists() else ""
        meta = rec["meta"]
        print(f"{art_id:42} {splits.get(art_id, '?'):5} {meta['corpus']}/{meta['conflict']:6} {len(rec['text']):5} chars  {done}{p2}")
    return 0


def _agreement(paths: GoldPaths, schema) -> int:
    selection, splits = load_selection(paths.selection), load_splits(paths.splits)
    pairs = []
    for second in sorted((paths.annotations / "pass2").glob("*.yaml")):
        first = paths.annotations / second.name
        if first.exists():
            pairs.append((resolve_file(first, selection, splits, schema).article, resolve_file(second, selection, splits, schema).article))
    agreement = compare_passes(pairs, schema)
    print(f"{agreement.articles} doubly annotated articles: entity F1 {agreement.entity_f1:.3f} "
          f"({agreement.entity_matches} shared of {agreement.entities_a} / {agreement.entities_b}), relation F1 "
          f"{agreement.relation_f1:.3f} ({agreement.relation_matches} shared of {agreement.relations_a} / {agreement.relations_b})")
    return 0


def _build(paths: GoldPaths, schema, quiet: bool) -> int:
    result = build_gold(paths, schema)
    if not quiet:
        for path, warnings in result.warnings.items():
            for w in warnings:
                print(f"warning: {path}: {w}", file=sys.stderr)
    if result.errors:
        for err in result.errors:
            print(f"ERROR {err}", file=sys.stderr)
        print(f"{len(result.errors)} file(s) failed; nothing written", file=sys.stderr)
        return 1
    print(format_counts(result.articles, result.split_of, schema))
    n_warn = sum(len(w) for w in result.warnings.values())
    print(f"{len(result.articles)} annotated articles written to {paths.export} and {paths.root}/{{train,dev,test}}.jsonl; "
          f"{result.not_annotated} selected articles not yet annotated; {n_warn} warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
