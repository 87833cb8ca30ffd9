"""The masked-language-modelling loop: resumable, bounded in minutes, exported as a plain encoder.

The MLM head is fresh (the encoder was trained for sentence embeddings and has none) and its
output layer is tied to the word embeddings, so adapting adds no parameters to the encoder that
ships. Logits are computed at masked positions only: with a 20-30k vocabulary that is most of the
head's cost.

A run with `max_steps: null` measures its first steps and fixes the number of steps that fits in
`max_minutes`; the number is stored in the checkpoint, so a resumed run keeps the same schedule.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from rasid.errors import RasidConfigError
from rasid.io import atomic_write
from rasid.pretrain.config import PretrainConfig
from rasid.pretrain.corpus import load_corpus
from rasid.pretrain.masking import IGNORE, mask_whole_words

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
PROBE_STEPS = 20  # steps timed (after a session's first 3) to size a run by minutes
ENCODER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "NOTICE")


class BlockStream:
    """Fixed-length blocks cut from one token stream: <s> + seq_len-2 pieces + </s>."""

    def __init__(self, tokens: np.ndarray, word_starts: np.ndarray, seq_len: int, bos_id: int, eos_id: int):
        self.tokens, self.word_starts = tokens, word_starts
        self.body = seq_len - 2
        self.bos_id, self.eos_id = bos_id, eos_id
        self.count = len(tokens) // self.body

    def batch(self, indices) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = np.stack([self.tokens[i * self.body : (i + 1) * self.body] for i in indices]).astype(np.int64)
        starts = np.stack([self.word_starts[i * self.body : (i + 1) * self.body] for i in indices])
        starts[:, 0] = True  # a block may begin mid-word; its first piece still starts a unit
        n = len(indices)
        ids = np.concatenate([np.full((n, 1), self.bos_id), rows, np.full((n, 1), self.eos_id)], axis=1)
        starts = np.concatenate([np.ones((n, 1), bool), starts, np.ones((n, 1), bool)], axis=1)
        special = np.zeros_like(starts)
        special[:, 0] = special[:, -1] = True
        return torch.from_numpy(ids), torch.from_numpy(starts), torch.from_numpy(special)


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_mlm_model(encoder_dir: Path):
    """BertForMaskedLM on the encoder: the transform layer is new, the decoder is the embeddings."""
    from transformers import BertForMaskedLM
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialised cls.*" is expected here
    try:
        model = BertForMaskedLM.from_pretrained(str(encoder_dir), dtype=torch.float32, tie_word_embeddings=True)
    finally:
        hf_logging.set_verbosity(verbosity)
    if model.cls.predictions.decoder.weight.data_ptr() != model.bert.embeddings.word_embeddings.weight.data_ptr():
        raise RasidConfigError(f"{encoder_dir}: the MLM output layer is not tied to the word embeddings")
    return model


def mlm_loss(model, inputs: torch.Tensor, labels: torch.Tensor, attention: torch.Tensor | None = None) -> torch.Tensor:
    hidden = model.bert(input_ids=inputs, attention_mask=attention).last_hidden_state
    where = labels != IGNORE
    logits = model.cls(hidden[where])
    return torch.nn.functional.cross_entropy(logits.float(), labels[where])


class MaskedLM:
    """The adaptation objective: whole-word masked-language modelling. `model.bert` is what ships."""

    title = "masked-LM loss"

    def __init__(self, encoder_dir: Path, mask_args: dict, mask_prob: float):
        self.model = load_mlm_model(encoder_dir)
        self.mask_args, self.mask_prob = mask_args, mask_prob

    def loss(self, ids, starts, special, generator: torch.Generator, device) -> tuple[torch.Tensor, int]:
        """(mean loss, how many positions it averages) for one batch of blocks."""
        inputs, labels = mask_whole_words(ids, starts, special, generator=generator, prob=self.mask_prob, **self.mask_args)
        return mlm_loss(self.model, inputs.to(device, non_blocking=True), labels.to(device, non_blocking=True)), int((labels != IGNORE).sum())


class Schedule:
    """Linear warm-up, then linear decay to 10 % of the peak at `max_steps` (unknown until probed)."""

    def __init__(self, lr: float, warmup: int):
        self.lr, self.warmup, self.max_steps = lr, warmup, None

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        if not self.max_steps:
            return self.lr
        done = min(1.0, (step - self.warmup) / max(1, self.max_steps - self.warmup))
        return self.lr * (1.0 - 0.9 * done)


def _rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_checkpoint(path: Path, model, optimizer, progress: dict, generator: torch.Generator) -> None:
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "progress": progress, "rng": _rng_state(),
             "mask_rng": generator.get_state()}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


@torch.no_grad()
def evaluate(objective, stream: BlockStream, cfg, device, batch_size: int) -> float:
    """Mean loss on the first `eval_blocks` held-out blocks, masked the same way every time."""
    objective.model.eval()
    generator = torch.Generator().manual_seed(cfg.seed + 1)
    n = min(cfg.eval_blocks, stream.count)
    total, count = 0.0, 0
    for start in range(0, n, batch_size):
        ids, starts, special = stream.batch(range(start, min(n, start + batch_size)))
        with _autocast(device, cfg.bf16):
            loss, k = objective.loss(ids, starts, special, generator, device)
        total += float(loss) * k
        count += k
    objective.model.train()
    return total / max(count, 1)


def _autocast(device, bf16: bool):
    if device.type == "cuda" and bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    import contextlib

    return contextlib.nullcontext()


def run_pretraining(cfg: PretrainConfig, encoder_dir: Path, corpus_dir: Path, out_dir: Path, objective=None):
    """Train on the corpus from `encoder_dir`: masked-LM by default, or `objective` (one with a
    `.model` and a `.loss(ids, starts, special, generator, device)`, as distillation has). Resumes
    from `out_dir/checkpoint.pt` if there. Returns (progress record, also written as history.json;
    the trained model, whose `.bert` is the encoder to export)."""
    t = cfg.training
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest, arrays = load_corpus(corpus_dir)
    device = _device()
    if t.num_threads:
        torch.set_num_threads(t.num_threads)
    random.seed(t.seed)
    np.random.seed(t.seed)
    torch.manual_seed(t.seed)

    from rasid.pretrain.corpus import special_ids

    ids = special_ids(encoder_dir)
    if ids["vocab_size"] != manifest["vocab_size"]:
        raise RasidConfigError(f"{corpus_dir}: built for a vocabulary of {manifest['vocab_size']}, the encoder has {ids['vocab_size']}")
    pool = torch.tensor(sorted(set(range(ids["vocab_size"])) - set(ids["all_special"])), dtype=torch.long)
    mask_args = {"mask_id": ids["mask"], "random_pool": pool}
    train = BlockStream(arrays["tokens"], arrays["word_starts"], t.seq_len, ids["bos"], ids["eos"])
    held = BlockStream(arrays["eval_tokens"], arrays["eval_word_starts"], t.seq_len, ids["bos"], ids["eos"])
    if train.count < t.batch_size:
        raise RasidConfigError(f"{corpus_dir}: {train.count} blocks of {t.seq_len} pieces, fewer than one batch")

    if objective is None:
        objective = MaskedLM(encoder_dir, mask_args, t.mask_prob)
    model = objective.model.to(device)
    model.train()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in trainable if p.ndim > 1 and "LayerNorm" not in n]
    no_decay = [p for n, p in trainable if not (p.ndim > 1 and "LayerNorm" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": t.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=t.lr, fused=device.type == "cuda")
    schedule = Schedule(t.lr, t.warmup_steps)
    generator = torch.Generator().manual_seed(t.seed)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    progress = {"step": 0, "epoch": 0, "cursor": 0, "max_steps": t.max_steps, "tokens_seen": 0, "seconds": 0.0,
                "history": [], "device": where + (" (bf16 autocast)" if device.type == "cuda" and t.bf16 else ""), "resumed": []}
    ckpt = out_dir / CHECKPOINT
    if ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        progress = state["progress"]
        _set_rng_state(state["rng"])
        generator.set_state(state["mask_rng"])
        progress["resumed"].append(progress["step"])
        log.info("resuming pretraining at step %d (%s)", progress["step"], ckpt)
    schedule.max_steps = progress["max_steps"]

    def order(epoch: int) -> np.ndarray:
        return np.random.default_rng(t.seed + epoch).permutation(train.count)

    perm = order(progress["epoch"])
    if progress["step"] == 0:
        progress["history"].append({"step": 0, "tokens": 0, "eval_loss": evaluate(objective, held, t, device, t.batch_size)})
        log.info("step 0: held-out %s %.3f", objective.title, progress["history"][-1]["eval_loss"])
    window_loss, window_n = 0.0, 0
    session_start = time.perf_counter()
    seconds_before = progress["seconds"]
    last_ckpt = time.perf_counter()
    session_steps, probe_start = 0, None
    probe_eval_s = 0.0  # evaluation inside the probe window is not step time
    while progress["max_steps"] is None or progress["step"] < progress["max_steps"]:
        if progress["cursor"] + t.batch_size > train.count:
            progress["epoch"] += 1
            progress["cursor"] = 0
            perm = order(progress["epoch"])
        batch_ids = perm[progress["cursor"] : progress["cursor"] + t.batch_size]
        progress["cursor"] += t.batch_size
        ids_, starts, special = train.batch(batch_ids)
        for group in optimizer.param_groups:
            group["lr"] = schedule(progress["step"])
        with _autocast(device, t.bf16):
            loss, _ = objective.loss(ids_, starts, special, generator, device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
        optimizer.step()
        progress["step"] += 1
        progress["tokens_seen"] += int(ids_.numel())
        window_loss += float(loss.detach())
        window_n += 1

        step = progress["step"]
        session_steps += 1
        if progress["max_steps"] is None:  # still sizing the run (also after resuming a checkpoint saved before that)
            if session_steps == 3:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                probe_start = time.perf_counter()
            elif session_steps == 3 + PROBE_STEPS and probe_start is not None:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                per_step = (time.perf_counter() - probe_start - probe_eval_s) / PROBE_STEPS
                # evaluation and checkpoints take time too: budget 92 % of the minutes for steps
                budget = t.max_minutes * 60 * 0.92 - (time.perf_counter() - session_start) - seconds_before
                progress["max_steps"] = max(step + 1, step + int(budget / per_step))
                schedule.max_steps = progress["max_steps"]
                log.info("%.3f s/step: %d steps fit in %.0f minutes", per_step, progress["max_steps"], t.max_minutes)
        done = progress["max_steps"] is not None and step >= progress["max_steps"]
        if step % t.eval_every == 0 or done:
            eval_started = time.perf_counter()
            eval_loss = evaluate(objective, held, t, device, t.batch_size)
            if probe_start is not None and progress["max_steps"] is None:
                probe_eval_s += time.perf_counter() - eval_started
            record = {"step": step, "tokens": progress["tokens_seen"], "train_loss": window_loss / max(window_n, 1),
                      "lr": schedule(step - 1), "eval_loss": eval_loss,
                      "seconds": round(seconds_before + time.perf_counter() - session_start, 1)}
            progress["history"].append(record)
            window_loss, window_n = 0.0, 0
            log.info("step %d/%s: train %.3f, held-out %.3f, %.0f s", step, progress["max_steps"], record["train_loss"],
                     record["eval_loss"], record["seconds"])
        if done or time.perf_counter() - last_ckpt > t.checkpoint_minutes * 60:
            progress["seconds"] = seconds_before + time.perf_counter() - session_start
            _save_checkpoint(ckpt, model, optimizer, progress, generator)
            last_ckpt = time.perf_counter()
    progress["seconds"] = round(seconds_before + time.perf_counter() - session_start, 1)
    progress["corpus"] = {k: manifest[k] for k in ("articles", "pieces", "by_corpus", "dropped", "excluded_ids")}
    with atomic_write(out_dir / "history.json") as handle:
        json.dump(progress, handle, indent=1)
    return progress, model


def export_encoder(model, encoder_dir: Path, out_dir: Path, *, name: str, progress: dict, base_origin: dict,
                   how: str = "adapted to Arabic news by masked-language modelling") -> Path:
    """The adapted encoder as a plain BERT folder: fp16 safetensors without the MLM head (the loaders
    upcast to float32), the base tokenizer, origin.json. Written beside `out_dir` and swapped in."""
    from safetensors.torch import save_file

    from rasid.io import atomic_dir

    encoder_dir = Path(encoder_dir)
    tensors = {f"bert.{k}": v.detach().to("cpu", torch.float16).contiguous() for k, v in model.bert.state_dict().items()}
    config = json.loads((encoder_dir / "config.json").read_text(encoding="utf-8"))
    config["dtype"] = "float32"
    config["num_hidden_layers"] = model.bert.config.num_hidden_layers  # a distilled student has fewer
    n_params = sum(int(v.numel()) for v in tensors.values())
    origin = {
        "name": name,
        "base": base_origin.get("name", encoder_dir.name),
        "upstream_model": base_origin.get("upstream_model"),
        "source": f"{base_origin.get('name', encoder_dir.name)} {how} "
                  f"({progress['step']} steps, {progress['tokens_seen']:,} pieces seen)",
        "licence": "MIT weights base; adapted on SaudiNewsNet (CC BY-NC-SA 4.0): non-commercial use only",
        "parameters": n_params,
        "vocab_size": config.get("vocab_size"),
        "steps": progress["step"],
        "tokens_seen": progress["tokens_seen"],
        "device": progress.get("device"),
        "final_eval_loss": progress["history"][-1].get("eval_loss") if progress["history"] else None,
    }
    with atomic_dir(out_dir) as tmp:
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        for file in ENCODER_FILES:
            if (encoder_dir / file).is_file():
                shutil.copy2(encoder_dir / file, tmp / file)
        (tmp / "origin.json").write_text(json.dumps(origin, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out_dir


def plot_loss_curve(history: list[dict], path: Path, title: str, ylabel: str = "masked-LM loss", fresh_head: bool = True) -> Path:
    from rasid.plots import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    train = [h for h in history if "train_loss" in h]
    held = [h for h in history if "eval_loss" in h]
    if train:
        ax.plot([h["tokens"] / 1e6 for h in train], [h["train_loss"] for h in train], label="training (mean since last point)")
    ax.plot([h["tokens"] / 1e6 for h in held], [h["eval_loss"] for h in held], marker="o", label="held-out articles")
    ax.set_xlabel("pieces seen (millions)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    # a fresh head's first loss is far above the rest: leave it off the scale to keep the curve
    # readable. A distilled student has no fresh head, and where it started is the point.
    shown = held[1:] if fresh_head else held
    finite = [h["eval_loss"] for h in shown if math.isfinite(h["eval_loss"])] + [h["train_loss"] for h in train]
    if finite:
        ax.set_ylim(0, max(finite) * 1.15)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
