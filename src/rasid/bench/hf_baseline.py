"""A faithful re-implementation of Hugging Face `run_ner.py` (examples/pytorch/token-classification),
the recipe most people would use instead of rasid.

What it does, as run_ner does: one example per sentence (a CoNLL line group), whitespace words
tokenized with `is_split_into_words=True`, truncated at `max_length`; the word's label goes on its
first sub-word piece, every other piece gets -100 (`label_all_tokens=False`); batches are drawn in
a shuffled order (the Trainer's RandomSampler) and padded to the longest example of the batch
(DataCollatorForTokenClassification) — or, with `pad_to_max_length`, to `max_length`. AdamW with
linear warm-up and decay, no weight decay on biases and LayerNorm, gradient clipping: the
Trainer's defaults. Predictions are read at first pieces; words cut off by truncation get "O".

Only the training approach differs from rasid's: the optimizer settings, the encoder, the epochs and
the model selection on dev (Trainer's `load_best_model_at_end`) are the same for both.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from rasid.articles import Article, Entity
from rasid.ner.alignment import IGNORE_INDEX
from rasid.ner.decoding import spans_to_word_tags, tags_to_spans
from rasid.text import whitespace_words

log = logging.getLogger(__name__)

__all__ = ["Sentence", "split_sentences", "first_subword_labels", "encode_sentences", "pad_examples", "shuffled_batches",
           "BaselineResult", "train_baseline", "predict_word_tags", "predict_articles", "make_optimizer", "linear_schedule",
           "truncated_words"]


@dataclass
class Sentence:
    """One run_ner example: whitespace words of one line of an article, with their offsets."""

    article: int
    words: list[tuple[int, int]]  # (start, end) into the article's text
    tags: list[str]  # gold IOB2 tag per word ("O" when unknown)


def split_sentences(articles: Sequence[Article]) -> list[Sentence]:
    """Lines of each article (ANERCorp sentences: rasid joins them with "\\n") as word sequences."""
    out = []
    for index, art in enumerate(articles):
        words = whitespace_words(art.text)
        tags = spans_to_word_tags(art.text, [(e.start, e.end, e.label) for e in art.entities], words)
        line_starts, pos = [], 0
        for line in art.text.split("\n"):
            line_starts.append(pos)
            pos += len(line) + 1
        current, line_no = [], 0
        for (start, end), tag in zip(words, tags):
            while line_no + 1 < len(line_starts) and start >= line_starts[line_no + 1]:
                if current:
                    out.append(Sentence(index, [w for w, _ in current], [t for _, t in current]))
                current, line_no = [], line_no + 1
            current.append(((start, end), tag))
        if current:
            out.append(Sentence(index, [w for w, _ in current], [t for _, t in current]))
    return out


def first_subword_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """run_ner's `tokenize_and_align_labels` with label_all_tokens=False: the label of word w on
    its first piece, -100 on its other pieces and on special tokens."""
    labels, previous = [], None
    for word in word_ids:
        if word is None:
            labels.append(IGNORE_INDEX)
        elif word != previous:
            labels.append(int(word_labels[word]))
        else:
            labels.append(IGNORE_INDEX)
        previous = word
    return labels


def encode_sentences(tokenizer, sentences: Sequence[Sentence], texts: Sequence[str], tag2id: dict[str, int] | None,
                     max_length: int) -> list[dict]:
    """Model inputs of each sentence: input_ids, word_ids, and labels when `tag2id` is given."""
    words = [[texts[s.article][a:b] for a, b in s.words] for s in sentences]
    if not words:
        return []
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
    out = []
    for i, s in enumerate(sentences):
        word_ids = enc.word_ids(i)
        ex = {"input_ids": list(enc["input_ids"][i]), "word_ids": word_ids}
        if tag2id is not None:
            ex["labels"] = first_subword_labels(word_ids, [tag2id.get(t, 0) for t in s.tags])
        out.append(ex)
    return out


def pad_examples(batch: Sequence[dict], pad_id: int, pad_to: int | None = None) -> dict:
    """DataCollatorForTokenClassification: pad to the batch's longest example (or to `pad_to`).
    The same padding as rasid's own collate: the two loops differ in batching only."""
    from rasid.ner.train import collate_tokens

    return collate_tokens(batch, pad_id, pad_to)


def shuffled_batches(n: int, batch_size: int, seed: int) -> list[list[int]]:
    """The Trainer's RandomSampler cut into consecutive batches (no length grouping)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def make_optimizer(model: torch.nn.Module, lr: float, head_lr: float | None, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW; no decay on biases and LayerNorm weights; the new classifier head at `head_lr`."""
    groups: dict[tuple[float, float], list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        group_lr = (head_lr or lr) if name.startswith("classifier") else lr
        decay = 0.0 if p.ndim < 2 else weight_decay
        groups.setdefault((group_lr, decay), []).append(p)
    return torch.optim.AdamW([{"params": ps, "lr": glr, "weight_decay": wd} for (glr, wd), ps in groups.items()])


def linear_schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = int(warmup_ratio * total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@dataclass
class BaselineResult:
    best_score: float
    best_epoch: int
    history: list[dict]
    seconds: float  # training loop only (no evaluation), like rasid's FitResult
    tokens: int  # real (unpadded) pieces seen
    padded_tokens: int  # pieces computed, padding included
    steps: int

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def train_baseline(model: torch.nn.Module, features: Sequence[dict], pad_id: int, *, epochs: int, batch_size: int, lr: float,
                   head_lr: float | None, weight_decay: float, warmup_ratio: float, grad_clip: float, seed: int,
                   evaluate: Callable[[torch.nn.Module], float], pad_to_max_length: int | None = None) -> BaselineResult:
    """Train like the Trainer: shuffled batches, padding per batch; keep the best dev epoch's weights."""
    torch.manual_seed(seed)
    steps_per_epoch = math.ceil(len(features) / batch_size)
    total = steps_per_epoch * epochs
    optimizer = make_optimizer(model, lr, head_lr, weight_decay)
    scheduler = linear_schedule(optimizer, total, warmup_ratio)
    history, best, best_epoch, best_state = [], -1.0, 0, None
    seconds, tokens, padded, steps = 0.0, 0, 0, 0
    for epoch in range(epochs):
        model.train()
        started = time.perf_counter()
        for indices in shuffled_batches(len(features), batch_size, seed * 1000 + epoch):
            batch = pad_examples([features[i] for i in indices], pad_id, pad_to_max_length)
            loss = model(**batch).loss
            loss.backward()
            if grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            tokens += int(batch["attention_mask"].sum())
            padded += batch["attention_mask"].numel()
            steps += 1
        seconds += time.perf_counter() - started
        model.eval()
        score = evaluate(model)
        history.append({"epoch": epoch + 1, "step": steps, "dev_score": round(score, 4), "loss": round(float(loss.detach()), 4)})
        log.info("run_ner baseline epoch %d: dev %.4f", epoch + 1, score)
        if score > best:
            best, best_epoch = score, epoch + 1
            best_state = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    model.eval()
    return BaselineResult(best, best_epoch, history, seconds, tokens, padded, steps)


@torch.inference_mode()
def predict_word_tags(model: torch.nn.Module, examples: Sequence[dict], n_words: Sequence[int], id2tag: dict[int, str],
                      pad_id: int, batch_size: int = 32) -> list[list[str]]:
    """Tag of each word from its first piece; words lost to truncation stay "O"."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]["input_ids"]))  # less padding; same tags
    out: list[list[str]] = [[] for _ in examples]
    for k in range(0, len(order), batch_size):
        chunk = order[k : k + batch_size]
        batch = pad_examples([{"input_ids": examples[i]["input_ids"]} for i in chunk], pad_id)
        best = model(**batch).logits.argmax(-1).numpy()
        for row, i in zip(best, chunk):
            tags, previous = ["O"] * n_words[i], None
            for pos, word in enumerate(examples[i]["word_ids"]):
                if word is not None and word != previous:
                    tags[word] = id2tag[int(row[pos])]
                previous = word
            out[i] = tags
    return out


def predict_articles(model: torch.nn.Module, tokenizer, articles: Sequence[Article], id2tag: dict[int, str], max_length: int,
                     pad_id: int) -> tuple[list[Article], list[list[str]]]:
    """Articles with the baseline's entities (word runs → character spans), and the raw word tags."""
    sentences = split_sentences([Article(a.id, a.text) for a in articles])
    texts = [a.text for a in articles]
    examples = encode_sentences(tokenizer, sentences, texts, None, max_length)
    tags = predict_word_tags(model, examples, [len(s.words) for s in sentences], id2tag, pad_id)
    spans: list[list[tuple[int, int, str]]] = [[] for _ in articles]
    for s, t in zip(sentences, tags):
        # the same lenient BIO repair rasid's decoder uses (an I- after O starts an entity)
        for first, last, label in tags_to_spans(t):
            spans[s.article].append((s.words[first][0], s.words[last - 1][1], label))
    out = []
    for art, found in zip(articles, spans):
        ents = [Entity(f"e{i + 1}", a, b, lab, art.text[a:b]) for i, (a, b, lab) in enumerate(found)]
        out.append(Article(art.id, art.text, ents, [], art.meta))
    return out, tags


def truncated_words(examples: Sequence[dict], n_words: Sequence[int]) -> int:
    """Words that got no piece at all because the sentence was cut at max_length."""
    lost = 0
    for ex, n in zip(examples, n_words):
        seen = {w for w in ex["word_ids"] if w is not None}
        lost += n - len(seen)
    return lost
