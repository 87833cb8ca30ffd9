"""Entity tagging of whole articles with any logits function (PyTorch or ONNX Runtime).

Articles are encoded (normalised input, clitic-aware pieces), cut into overlapping windows that
fit the encoder, run in length-sorted batches, merged back per piece and decoded into spans with
offsets into the original text. Only numpy and `tokenizers` are needed here, so the ONNX server
shares this code without importing torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rasid.articles import Entity
from rasid.ner.alignment import IGNORE_INDEX, ModelEncoding, align_labels, encode_for_model
from rasid.ner.decoding import decode_entities
from rasid.ner.windows import make_windows, merge_window_scores

__all__ = ["SpecialIds", "special_ids", "window_examples", "EntityTagger", "softmax"]


@dataclass(frozen=True)
class SpecialIds:
    cls: int
    sep: int
    pad: int


def special_ids(tokenizer) -> SpecialIds:
    """[CLS]/[SEP]/[PAD] of a Hugging Face tokenizer (XLM-R style <s> </s> <pad> included)."""
    cls = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    if cls is None or sep is None:
        raise ValueError("tokenizer has no CLS/BOS or SEP/EOS token")
    return SpecialIds(int(cls), int(sep), int(pad))


def window_examples(enc: ModelEncoding, labels: Sequence[int] | None, max_length: int, stride: int, ids: SpecialIds) -> list[dict]:
    """Model inputs for every window of one encoded article (special tokens added)."""
    out = []
    for start, end in make_windows(len(enc), max_length - 2, stride, enc.word_starts):
        ex = {"input_ids": [ids.cls, *enc.input_ids[start:end], ids.sep], "window": (start, end)}
        if labels is not None:
            ex["labels"] = [IGNORE_INDEX, *labels[start:end], IGNORE_INDEX]
        out.append(ex)
    return out


def softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def pad_batch(rows: list[list[int]], pad: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask


class EntityTagger:
    """`tag(texts)` → entities per text. `logits_fn(input_ids, attention_mask) -> [b, n, tags]`."""

    def __init__(self, tokenizer, id2tag: dict[int, str], logits_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 max_length: int, stride: int, ids: SpecialIds, split_clitics: bool = True, batch_size: int = 16,
                 normalize: bool = True):
        self.tokenizer, self.id2tag, self.logits_fn = tokenizer, id2tag, logits_fn
        self.max_length, self.stride, self.ids = max_length, stride, ids
        self.split_clitics, self.batch_size, self.normalize = split_clitics, batch_size, normalize

    def encode(self, text: str) -> ModelEncoding:
        return encode_for_model(self.tokenizer, text, split_clitics=self.split_clitics, normalize=self.normalize)

    def piece_probs(self, encodings: list[ModelEncoding]) -> list[np.ndarray]:
        """Per-piece tag probabilities of each article, windows merged back."""
        jobs = []  # (article, window index, example)
        per_article: list[list] = []
        for a, enc in enumerate(encodings):
            exs = window_examples(enc, None, self.max_length, self.stride, self.ids)
            per_article.append([None] * len(exs))
            jobs.extend((a, w, ex) for w, ex in enumerate(exs))
        jobs.sort(key=lambda j: len(j[2]["input_ids"]))  # similar lengths share a batch: little padding
        for i in range(0, len(jobs), self.batch_size):
            chunk = jobs[i : i + self.batch_size]
            ids, mask = pad_batch([j[2]["input_ids"] for j in chunk], self.ids.pad)
            probs = softmax(np.asarray(self.logits_fn(ids, mask), dtype=np.float32))
            for (a, w, ex), p in zip(chunk, probs):
                n = len(ex["input_ids"])
                per_article[a][w] = (ex["window"], p[1 : n - 1])
        out = []
        for a, enc in enumerate(encodings):
            if not per_article[a]:
                out.append(np.zeros((0, len(self.id2tag)), dtype=np.float32))
                continue
            windows = [w for w, _ in per_article[a]]
            out.append(merge_window_scores(windows, [p for _, p in per_article[a]], len(enc)))
        return out

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        encodings = [self.encode(t) for t in texts]
        results = []
        for enc, probs in zip(encodings, self.piece_probs(encodings)):
            spans = decode_entities(probs, enc.token_spans, enc.text, self.id2tag) if len(enc) else []
            results.append([Entity(id=f"e{i + 1}", start=s["start"], end=s["end"], label=s["label"], text=s["text"], score=s["score"])
                            for i, s in enumerate(spans)])
        return results


def training_features(encodings: list[ModelEncoding], spans: list[list[tuple[int, int, str]]], tag2id: dict[str, int],
                      max_length: int, stride: int, ids: SpecialIds) -> list[dict]:
    feats = []
    for enc, sp in zip(encodings, spans):
        labels = align_labels(enc.token_spans, sp, tag2id)
        for ex in window_examples(enc, labels, max_length, stride, ids):
            ex.pop("window")
            feats.append(ex)
    return feats
