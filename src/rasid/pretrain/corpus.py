"""The pretraining corpus: raw Arabic news, tokenised once into the model's own input pieces.

Pieces are what `encode_for_model` feeds the encoder at fine-tuning and serving time
(normalised text, proclitics split off), so adaptation sees the same input distribution.
Articles that could leak into scoring are dropped: the gold dev/test articles by id, and any
article sharing a run of `shingle_words` words with them or with the ANERCorp test split
(newswire gets reprinted, so ids alone are not enough).

On disk (`out/`): tokens.npy (uint16 piece ids, articles separated by </s>), word_starts.npy
(bool: the piece begins a whitespace word, for whole-word masking), the same two for the
evaluation articles (eval_*.npy, the stable 5 % of `trim.is_held_out`), and manifest.json.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rasid.errors import RasidConfigError, RasidDataError
from rasid.io import atomic_dir

log = logging.getLogger(__name__)

CORPUS_VERSION = "1"
_WORD = re.compile(r"\w+")
_TOKENIZER = None


def words(text: str) -> list[str]:
    """Word characters only: ANERCorp separates punctuation from words, raw news does not."""
    return _WORD.findall(text)


def shingles(text: str, n: int) -> set[int]:
    ws = words(text)
    if len(ws) < n:
        return {hash(tuple(ws))} if ws else set()
    return {hash(tuple(ws[i : i + n])) for i in range(len(ws) - n + 1)}


@dataclass
class Exclusion:
    ids: set[str]
    shingles: set[int]
    n: int

    def hits(self, article_id: str, text: str) -> bool:
        return article_id in self.ids or not self.shingles.isdisjoint(shingles(text, self.n))


def build_exclusion(texts: Iterable[tuple[str, str]], n: int) -> Exclusion:
    """(id, text) pairs that must not be pretrained on."""
    ids: set[str] = set()
    found: set[int] = set()
    for article_id, text in texts:
        ids.add(article_id)
        found |= shingles(text, n)
    return Exclusion(ids=ids, shingles=found, n=n)


def read_excluded_texts(paths: Iterable[Path], anercorp_test: Path | None) -> Iterator[tuple[str, str]]:
    from rasid.articles import read_articles

    for path in paths:
        for article in read_articles(path):
            yield article.id, article.text
    if anercorp_test is not None:
        from rasid.corpora.readers import read_anercorp

        if not anercorp_test.is_file():
            raise RasidDataError("ANERCorp test split not found; it must be excluded from pretraining", path=str(anercorp_test))
        articles, _ = read_anercorp(anercorp_test)
        for article in articles:
            yield article.id, article.text


def special_ids(encoder_dir: Path) -> dict:
    """bos/eos/mask/pad ids and every special id, whatever the tokenizer calls them (<s> or [CLS])."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(encoder_dir))
    ids = {"bos": tok.cls_token_id, "eos": tok.sep_token_id, "mask": tok.mask_token_id, "pad": tok.pad_token_id}
    missing = [k for k, v in ids.items() if v is None]
    if missing:
        raise RasidConfigError(f"{encoder_dir}: the tokenizer has no {', '.join(missing)} token; masked-LM needs them")
    ids["all_special"] = sorted(set(tok.all_special_ids))
    ids["vocab_size"] = len(tok)
    return ids


def word_start_flags(encoding) -> list[bool]:
    """True where a piece begins a whitespace-separated word of the model text."""
    text = encoding.model_text
    flags, prev_end = [], None
    for piece, (start, end) in zip(encoding.tokens, encoding.model_offsets):
        gap = text[prev_end:start] if prev_end is not None else " "
        flags.append(piece.startswith("\u2581") or prev_end is None or any(c.isspace() for c in gap))
        prev_end = end
    return flags


def _init_worker(tokenizer_path: str) -> None:
    global _TOKENIZER
    from tokenizers import Tokenizer

    _TOKENIZER = Tokenizer.from_file(tokenizer_path)


def _encode_chunk(texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    from rasid.ner.alignment import encode_for_model

    out = []
    for text in texts:
        encoding = encode_for_model(_TOKENIZER, text)
        out.append((np.asarray(encoding.input_ids, dtype=np.int64), np.asarray(word_start_flags(encoding), dtype=bool)))
    return out


def _concatenate(parts: list[tuple[np.ndarray, np.ndarray]], sep_id: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    if not parts:
        return np.zeros(0, dtype=dtype), np.zeros(0, dtype=bool)
    ids = np.concatenate([np.append(a, sep_id) for a, _ in parts]).astype(dtype)
    starts = np.concatenate([np.append(s, True) for _, s in parts])
    return ids, starts


def corpus_key(encoder_dir: Path, article_digest: str, exclusion_digest: str) -> str:
    tok = hashlib.sha256((Path(encoder_dir) / "tokenizer.json").read_bytes()).hexdigest()
    return hashlib.sha256("|".join([CORPUS_VERSION, tok, article_digest, exclusion_digest]).encode()).hexdigest()


def read_manifest(out_dir: Path) -> dict | None:
    try:
        return json.loads((Path(out_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build_corpus(
    encoder_dir: Path,
    articles: Iterable[tuple[str, str, str]],
    exclusion: Exclusion,
    out_dir: Path,
    *,
    workers: int = 2,
    held_out=None,
) -> dict:
    """Tokenise `articles` ((corpus, id, text)) into `out_dir`; returns the manifest.

    Deterministic for the same articles, tokenizer and exclusion; a folder whose manifest has the
    same key is kept as it is. Written to a temp folder and swapped in, so a crash leaves no half corpus.
    """
    from rasid.encoders.trim import is_held_out

    held_out = held_out or is_held_out
    encoder_dir, out_dir = Path(encoder_dir), Path(out_dir)
    tokenizer_path = encoder_dir / "tokenizer.json"
    if not tokenizer_path.is_file():
        raise RasidConfigError(f"{encoder_dir}: no tokenizer.json")
    started = time.perf_counter()

    kept: list[tuple[str, str, str]] = []
    seen_text: set[str] = set()
    dropped: Counter = Counter()
    for corpus, article_id, text in articles:
        if not text or not text.strip():
            dropped["empty"] += 1
            continue
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
        if digest in seen_text:
            dropped["duplicate"] += 1
            continue
        seen_text.add(digest)
        if exclusion.hits(article_id, text):
            dropped["excluded (dev/test/ANERCorp test overlap)"] += 1
            continue
        kept.append((corpus, article_id, text))
    article_digest = hashlib.sha256("\n".join(a for _, a, _ in kept).encode()).hexdigest()
    exclusion_digest = hashlib.sha256(json.dumps(sorted(exclusion.ids)).encode()).hexdigest()
    key = corpus_key(encoder_dir, article_digest, exclusion_digest)
    existing = read_manifest(out_dir)
    if existing and existing.get("key") == key:
        log.info("pretraining corpus at %s is up to date (%d articles)", out_dir, existing["articles"]["train"])
        return existing

    specials = special_ids(encoder_dir)
    vocab_size, sep_id = specials["vocab_size"], specials["eos"]
    dtype = np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32
    texts = [text for _, _, text in kept]
    encoded: list[tuple[np.ndarray, np.ndarray]] = []
    chunks = [texts[i : i + 64] for i in range(0, len(texts), 64)]
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(workers, _init_worker, (str(tokenizer_path),)) as pool:
            for part in pool.imap(_encode_chunk, chunks):
                encoded.extend(part)
    else:
        _init_worker(str(tokenizer_path))
        for chunk in chunks:
            encoded.extend(_encode_chunk(chunk))

    is_eval = [held_out(article_id) for _, article_id, _ in kept]
    train_ids, train_starts = _concatenate([e for e, ev in zip(encoded, is_eval) if not ev], sep_id, dtype)
    eval_ids, eval_starts = _concatenate([e for e, ev in zip(encoded, is_eval) if ev], sep_id, dtype)
    manifest = {
        "key": key,
        "version": CORPUS_VERSION,
        "encoder": str(encoder_dir),
        "vocab_size": vocab_size,
        "articles": {"train": len(kept) - sum(is_eval), "eval": sum(is_eval)},
        "pieces": {"train": int(train_ids.size), "eval": int(eval_ids.size)},
        "characters": sum(len(t) for t in texts),
        "by_corpus": dict(Counter(c for c, _, _ in kept)),
        "dropped": dict(dropped),
        "excluded_ids": len(exclusion.ids),
        "shingle_words": exclusion.n,
        "article_ids_sha256": article_digest,
        "seconds": round(time.perf_counter() - started, 1),
    }
    with atomic_dir(out_dir) as tmp:
        np.save(tmp / "tokens.npy", train_ids)
        np.save(tmp / "word_starts.npy", train_starts)
        np.save(tmp / "eval_tokens.npy", eval_ids)
        np.save(tmp / "eval_word_starts.npy", eval_starts)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("pretraining corpus: %s articles, %s pieces → %s (%.0f s)", manifest["articles"], manifest["pieces"], out_dir,
             manifest["seconds"])
    return manifest


def load_corpus(out_dir: Path) -> tuple[dict, dict[str, np.ndarray]]:
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    if manifest is None:
        raise RasidConfigError(f"{out_dir}: no pretraining corpus here (manifest.json); run `rasid pretrain` to build it")
    arrays = {name: np.load(out_dir / f"{name}.npy") for name in ("tokens", "word_starts", "eval_tokens", "eval_word_starts")}
    return manifest, arrays
