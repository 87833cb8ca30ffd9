"""The `rasid` command: one verb per stage; each verb only wires the package together."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from rasid.errors import RasidError

log = logging.getLogger("rasid")


def _overrides(extra: list[str]) -> dict[str, str]:
    """`--training.epochs 3` or `--training.epochs=3` → {"training.epochs": "3"}."""
    out, i = {}, 0
    while i < len(extra):
        arg = extra[i]
        if not arg.startswith("--") or "." not in arg:
            raise RasidError(f"unexpected argument {arg!r} (overrides look like --training.epochs 3)")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(extra):
                raise RasidError(f"--{key} needs a value")
            value, i = extra[i + 1], i + 1
        out[key] = value
        i += 1
    return out


def cmd_train(args, extra) -> int:
    from rasid.config import load_config
    from rasid.runner import train_run

    cfg = load_config(args.config, _overrides(extra))
    train_run(cfg, Path(args.output))
    return 0


def cmd_evaluate(args, extra) -> int:
    from rasid.scoring import evaluate_model

    evaluate_model(Path(args.model), Path(args.data), Path(args.output), plots=not args.no_plots)
    return 0


def cmd_predict(args, extra) -> int:
    from rasid.scoring import predict_file

    predict_file(Path(args.model), Path(args.input), Path(args.output), batch_size=args.batch_size, backend=args.backend)
    return 0


def cmd_validate(args, extra) -> int:
    from rasid.schema import load_schema
    from rasid.validate import validate_file

    schema = load_schema(args.schema)
    bad = 0
    for path in args.files:
        problems = validate_file(Path(path), schema)
        for p in problems:
            print(str(p), file=sys.stderr)
        bad += len(problems)
        if not problems:
            print(f"{path}: ok")
    if bad:
        print(f"{bad} problem(s)", file=sys.stderr)
    return 1 if bad else 0


def cmd_convert(args, extra) -> int:
    from rasid.converters import convert

    n = convert(Path(args.input), Path(args.output), source_format=args.source_format, schema_path=args.schema,
                mapping=args.mapping, annotation=args.annotation)
    print(f"wrote {n} articles to {args.output}")
    return 0


def cmd_encoder(args, extra) -> int:
    from rasid.encoders import materialize, resolve_encoder

    spec = resolve_encoder(args.name)
    path = materialize(spec)
    print(json.dumps({"name": spec.name, "path": str(path), "origin": spec.origin}, ensure_ascii=False, indent=1))
    return 0


def cmd_pretrain(args, extra) -> int:
    from rasid.pretrain.config import load_pretrain_config
    from rasid.pretrain.pipeline import pretrain

    cfg = load_pretrain_config(args.config, _overrides(extra))
    print(pretrain(cfg))
    return 0


def cmd_compare_encoders(args, extra) -> int:
    from rasid.encoders.compare import compare_encoders, load_compare_config

    cfg = load_compare_config(args.config)
    if args.encoders:
        cfg.encoders = args.encoders.split(",")
    results = compare_encoders(cfg, tuple(args.stages.split(",")), Path(args.output) if args.output else None)
    print(f"rasid: {len(results['rows'])} encoders → {Path(args.output or cfg.output) / 'compare.md'}")
    return 0


def cmd_labelstudio(args, extra) -> int:
    from rasid.labelstudio.commands import run as ls_run

    return ls_run(args, extra)


def cmd_export(args, extra) -> int:
    from rasid.export import export_bundle

    out = export_bundle(Path(args.run), Path(args.output), data=args.data, check=not args.no_check)
    print(f"bundle written to {out}")
    return 0


def cmd_bench_inference(args, extra) -> int:
    from rasid.bench.inference import bench_bundles, markdown_table
    from rasid.data import load_articles
    from rasid.io import atomic_write

    gold = load_articles(Path(args.data), limit=args.limit)
    backends = args.backends.split(",") if args.backends else None
    section = bench_bundles([Path(b) for b in args.bundles], gold, backends)
    section["data"] = args.data
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(args.output) as handle:
            json.dump(section, handle, indent=1, ensure_ascii=False)
    print(markdown_table(section), end="")
    return 0


def cmd_serve(args, extra) -> int:
    from rasid.serving.app import serve

    serve(Path(args.model), host=args.host, port=args.port, backend=args.backend, variant=args.variant)
    return 0


def cmd_render(args, extra) -> int:
    from rasid.render import render_cmd

    return render_cmd(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rasid", description="Who-did-what-where extraction from Arabic news.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("train", help="fine-tune entities then relations; evaluate on the held-out split",
                       description="Train a model. Any config value can be overridden: --training.epochs 2 --model.encoder tiny")
    s.add_argument("--config", default="configs/train.yaml", help="run config YAML (default: configs/train.yaml)")
    s.add_argument("--output", default="runs/default", help="run folder (resumes if it holds a checkpoint)")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="predict on gold articles and score them (report JSON + table + plots)")
    s.add_argument("--model", required=True, help="a run folder or an exported bundle")
    s.add_argument("--data", required=True, help="gold articles: JSONL or a Label Studio JSON export")
    s.add_argument("--output", required=True, help="where to write REPORT.json")
    s.add_argument("--no-plots", action="store_true", help="skip the PNG plots beside the report")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("predict", help="extract entities and relations from articles")
    s.add_argument("--model", required=True, help="a run folder or an exported bundle")
    s.add_argument("--input", required=True, help="JSONL of articles (id, text) or a folder of .txt files")
    s.add_argument("--output", required=True, help="JSONL of predicted articles")
    s.add_argument("--batch-size", type=int, default=8)
    s.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto", help="bundles: ONNX Runtime by default")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("validate", help="check article files against the schema; every problem, one line each")
    s.add_argument("files", nargs="+")
    s.add_argument("--schema", default=None, help="schema YAML (default: configs/schema.yaml)")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("convert", help="convert Label Studio exports or CoNLL corpora to article JSONL and back")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("--from", dest="source_format", default="auto",
                   choices=["auto", "labelstudio", "articles", "anercorp", "fane", "aqmar"],
                   help="input format (auto: by extension; .jsonl → Label Studio tasks)")
    s.add_argument("--schema", default=None)
    s.add_argument("--mapping", default=None, help="label mapping YAML for CoNLL corpora (configs/mappings/)")
    s.add_argument("--annotation", default="latest", help="Label Studio: latest | first | a user id")
    s.set_defaults(func=cmd_convert)

    s = sub.add_parser("encoder", help="resolve (and build) an encoder: auto, e5-small, camelbert-msa, tiny, a path")
    s.add_argument("name", nargs="?", default="auto")
    s.set_defaults(func=cmd_encoder)

    # the actions parse their own options (rasid.labelstudio.commands); `rasid labelstudio ACTION -h` shows them
    s = sub.add_parser("labelstudio", help="Label Studio: projects from the schema, pre-annotations in, annotations out, next tasks",
                       add_help=False)
    s.add_argument("action", nargs="?", default="help", metavar="ACTION",
                   help="config | create | import | predict | export | next | up | down (rasid labelstudio -h: details)")
    s.set_defaults(func=cmd_labelstudio)

    s = sub.add_parser("pretrain", help="adapt an encoder to Arabic news (masked-LM, resumable); builds the corpus first",
                       description="Overrides: --training.max_minutes 30 --corpus.workers 1")
    s.add_argument("--config", default="configs/pretrain.yaml")
    s.set_defaults(func=cmd_pretrain)

    s = sub.add_parser("bench-inference", help="bundles' backends side by side on the same articles: articles/s, latency, F1",
                       description="Each article alone through every bundle and backend in turn (order rotated), in one process; "
                                   "ratios against the first bundle's first backend.")
    s.add_argument("bundles", nargs="+", metavar="BUNDLE")
    s.add_argument("--data", default="data/gold/test.jsonl", help="gold articles (JSONL)")
    s.add_argument("--backends", default=None, help="comma-separated: pytorch_fp32, onnx_fp32, onnx_int8 (default: all three)")
    s.add_argument("--limit", type=int, default=None, help="the first N articles only")
    s.add_argument("--output", default=None, help="write the measurements as JSON here")
    s.set_defaults(func=cmd_bench_inference)

    s = sub.add_parser("distil", help="distil an encoder into fewer layers (hidden-state MSE on Arabic news, resumable)",
                       description="Overrides: --distil.layers 4 --training.max_minutes 30")
    s.add_argument("--config", default="configs/distil.yaml")
    s.set_defaults(func=cmd_pretrain)

    s = sub.add_parser("compare-encoders", help="the encoders side by side: ANERCorp and gold F1, size, CPU speed (results/encoders)")
    s.add_argument("--config", default="configs/compare-encoders.yaml")
    s.add_argument("--stages", default="anercorp,gold,cost", help="any of anercorp, gold (need training) and cost (CPU speed, size)")
    s.add_argument("--encoders", help="comma-separated names or folders (default: the config's list)")
    s.add_argument("--output", help="default: the config's output folder")
    s.set_defaults(func=cmd_compare_encoders)

    s = sub.add_parser("export", help="export a run to a self-contained bundle (safetensors, ONNX, int8, card)")
    s.add_argument("run")
    s.add_argument("output")
    s.add_argument("--data", default=None, help="articles to check ONNX parity on (default: the run's test split)")
    s.add_argument("--no-check", action="store_true")
    s.set_defaults(func=cmd_export)

    from rasid.render import add_render_arguments

    s = sub.add_parser("render", help="draw articles as a right-to-left HTML page: entities, relation arcs, gold beside predicted")
    add_render_arguments(s)
    s.set_defaults(func=cmd_render)

    s = sub.add_parser("serve", help="serve a bundle over HTTP (FastAPI)")
    s.add_argument("--model", required=True)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto")
    s.add_argument("--variant", choices=["fp32", "int8"], default=None,
                   help="ONNX graphs to serve from a bundle (default $RASID_SERVE_VARIANT, else fp32)")
    s.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in ("train", "pretrain", "distil", "labelstudio"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return args.func(args, extra)
    except RasidError as exc:
        print(f"rasid: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rasid: interrupted", file=sys.stderr)
        return 130
