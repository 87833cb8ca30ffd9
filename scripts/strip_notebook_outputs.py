#!/usr/bin/env python3
"""Strip outputs, execution counts and run metadata from notebooks, so that git holds only their source.

    python scripts/strip_notebook_outputs.py                  # every notebooks/*.ipynb, in place
    python scripts/strip_notebook_outputs.py --check          # exit 1 if any notebook has outputs (CI)
    python scripts/strip_notebook_outputs.py a.ipynb b.ipynb

Plain JSON, no Jupyter packages needed; written the way nbformat writes (indent 1, sorted keys).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Cell metadata that a run adds and that says nothing about the source.
RUN_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime", "papermill")
NOTEBOOK_RUN_METADATA = ("widgets", "papermill", "varInspector")


def strip(nb: dict) -> dict:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        for key in RUN_METADATA:
            cell.get("metadata", {}).pop(key, None)
    for key in NOTEBOOK_RUN_METADATA:
        nb.get("metadata", {}).pop(key, None)
    lang = nb.get("metadata", {}).get("language_info")
    if isinstance(lang, dict):  # the kernel writes its exact version here on every run
        nb["metadata"]["language_info"] = {"name": lang.get("name", "python")}
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="default: notebooks/*.ipynb")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is not stripped")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    dirty = []
    for path in paths:
        try:
            before = path.read_text(encoding="utf-8")
            after = dumps(strip(json.loads(before)))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            return 2
        if after != before:
            dirty.append(path)
            if not args.check:
                path.write_text(after, encoding="utf-8")
    for path in dirty:
        print(f"{path}: {'has outputs or run metadata' if args.check else 'stripped'}")
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
