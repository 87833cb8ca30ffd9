"""From-scratch BERT encoders: a Unigram vocabulary trained on the spot, random seeded weights.

`tiny` exists for fast tests; `scratch` is the baseline that shows what pretraining buys.
The tokenizer has no normaliser at all: rasid normalises text itself, and a BERT-style
normaliser would strip Arabic diacritics (then offsets and ids no longer match the text).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from rasid.encoders.folders import new_build_dir, publish_dir
from rasid.errors import RasidConfigError

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BUILDER_VERSION = "2"


@dataclass(frozen=True)
class ScratchRecipe:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int = 512
    seed: int = 13


RECIPES = {
    "tiny": ScratchRecipe(hidden=32, layers=2, heads=2, ffn=64, vocab_size=1000),
    "scratch": ScratchRecipe(hidden=256, layers=4, heads=4, ffn=1024, vocab_size=16000),
}


def train_unigram_tokenizer(texts: Iterable[str], vocab_size: int):
    """A SentencePiece-style Unigram tokenizer trained on `texts`, wrapped so that it saves and
    reloads intact (offsets included).

    The tokenizers Unigram trainer finds the same pieces on every run but in a run-dependent
    order with scores that jitter in the 4th decimal (hash-map order, float sums); the pieces are
    therefore put in a canonical order, so that ids, and with them the seeded embedding rows,
    do not depend on the run.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    trained = Tokenizer(models.Unigram())
    trained.pre_tokenizer = pre_tokenizers.BertPreTokenizer()  # whitespace + punctuation; marks stay in words
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, unk_token="[UNK]", show_progress=False
    )
    trained.train_from_iterator(texts, trainer=trainer)
    pieces = json.loads(trained.to_str())["model"]["vocab"]
    scores = {piece: score for piece, score in pieces if piece not in SPECIAL_TOKENS}
    vocab = [(token, 0.0) for token in SPECIAL_TOKENS] + sorted(scores.items())
    backend = Tokenizer(models.Unigram(vocab, unk_id=SPECIAL_TOKENS.index("[UNK]"), byte_fallback=False))
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.add_special_tokens(SPECIAL_TOKENS)
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    # Generic wrapper on purpose: BertTokenizerFast drops a custom pipeline on save → reload.
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


def recipe_digest(name: str, texts: list[str]) -> str:
    """Names the folder: same recipe, texts and builder → same folder, reused."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"name": name, "recipe": asdict(RECIPES[name]), "builder": BUILDER_VERSION}).encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def _is_built(folder: Path, digest: str) -> bool:
    try:
        origin = json.loads((folder / "origin.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return origin.get("texts_sha256") == digest and (folder / "model.safetensors").is_file()


def build_scratch_encoder(name: str, texts: Iterable[str], out_dir: Path) -> tuple[Path, dict]:
    """Train the tokenizer on `texts`, initialise a seeded BertModel, save both to `out_dir`.

    Returns (folder, origin). Reuses `out_dir` if it already holds the same build.
    """
    import torch
    from transformers import BertConfig, BertModel

    if name not in RECIPES:
        raise RasidConfigError(f"no from-scratch recipe {name!r}; known: {sorted(RECIPES)}")
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise RasidConfigError(f"encoder {name!r} trains its vocabulary from texts, and none were given")
    digest = recipe_digest(name, texts)
    out_dir = Path(out_dir)
    if _is_built(out_dir, digest):
        return out_dir, json.loads((out_dir / "origin.json").read_text(encoding="utf-8"))

    recipe = RECIPES[name]
    build_dir = new_build_dir(out_dir)
    try:
        tokenizer = train_unigram_tokenizer(texts, recipe.vocab_size)
        config = BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=recipe.hidden,
            num_hidden_layers=recipe.layers,
            num_attention_heads=recipe.heads,
            intermediate_size=recipe.ffn,
            max_position_embeddings=recipe.max_positions,
            type_vocab_size=2,
            pad_token_id=tokenizer.pad_token_id,
        )
        with torch.random.fork_rng(devices=[]):  # seeded without disturbing the caller's RNG
            torch.manual_seed(recipe.seed)
            model = BertModel(config, add_pooling_layer=False)
        n_parameters = sum(p.numel() for p in model.parameters())
        model.save_pretrained(str(build_dir))
        tokenizer.save_pretrained(str(build_dir))
        origin = {
            "name": name,
            "source": f"from scratch: Unigram vocabulary trained on {len(texts)} texts, BERT initialised with seed {recipe.seed}",
            "licence": "n/a (no pretrained weights)",
            "parameters": n_parameters,
            "recipe": asdict(recipe),
            "vocab_size": len(tokenizer),
            "texts_sha256": digest,
            "builder_version": BUILDER_VERSION,
        }
        (build_dir / "origin.json").write_text(json.dumps(origin, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        publish_dir(build_dir, out_dir, lambda folder: _is_built(folder, digest))
    finally:
        if build_dir.exists():
            shutil.rmtree(build_dir, ignore_errors=True)
    log.info("encoder %s: built from scratch in %s (%d parameters, vocabulary %d)", name, out_dir, n_parameters, len(tokenizer))
    return out_dir, origin
