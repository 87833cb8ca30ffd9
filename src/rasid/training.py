"""One training loop for every stage (entities, relations): length-grouped batches, dynamic
padding, early stopping on a dev score, resumable checkpoints, and `accelerate` so the same code
runs in one process or under `torchrun` / `accelerate launch`.
"""

from __future__ import annotations

import logging
import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from rasid.config import TrainingConfig

log = logging.getLogger(__name__)

__all__ = ["set_seed", "length_grouped_batches", "fit", "FitResult", "make_accelerator"]


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_accelerator() -> Accelerator:
    # CPU only by design: the same code path under torchrun uses gloo.
    return Accelerator(cpu=not torch.cuda.is_available())


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """Batches of similar length, in a seeded random order.

    Shuffle, sort inside chunks of 50 batches, cut, shuffle the batches: padding stays small
    (each batch pads to its own maximum) while the order still varies from epoch to epoch.
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for i in range(0, len(order), chunk):
        part = sorted(order[i : i + chunk], key=lambda j: lengths[j], reverse=True)
        batches.extend(part[k : k + batch_size] for k in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


class _EpochBatches(torch.utils.data.Sampler):
    """A batch sampler whose order depends only on (seed, epoch): resuming can skip batches."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int):
        self.lengths, self.batch_size, self.seed, self.epoch = list(lengths), batch_size, seed, 0

    def __iter__(self):
        return iter(length_grouped_batches(self.lengths, self.batch_size, self.seed * 1000 + self.epoch))

    def __len__(self):
        return math.ceil(len(self.lengths) / self.batch_size)


@dataclass
class FitResult:
    best_score: float
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    tokens_per_second: float = 0.0
    resumed_from_step: int = 0


def _trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    # Frozen weights come back identical from the encoder, so checkpoints skip them.
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _save_checkpoint(path: Path, model, optimizer, scheduler, progress: dict) -> None:
    state = {
        "model": _trainable_state(model),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "progress": progress,
        "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, model, optimizer, scheduler) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=False)
    missing = set(state["model"]) ^ {n for n, p in model.named_parameters() if p.requires_grad}
    if missing:
        raise RuntimeError(f"{path}: checkpoint does not fit this model ({sorted(missing)[:3]} ...); delete it to start over")
    model.load_state_dict(state["model"], strict=False)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    random.setstate(state["rng"]["python"])
    np.random.set_state(state["rng"]["numpy"])
    torch.set_rng_state(state["rng"]["torch"])
    return state["progress"]


def _optimizer(model: torch.nn.Module, cfg: TrainingConfig, head_prefixes: tuple[str, ...]) -> torch.optim.Optimizer:
    groups: dict[tuple[float, float], list] = {}
    head_lr = cfg.head_lr or cfg.lr
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        lr = head_lr if name.startswith(head_prefixes) else cfg.lr
        decay = 0.0 if p.ndim < 2 else cfg.weight_decay  # no decay on biases and LayerNorm
        groups.setdefault((lr, decay), []).append(p)
    return torch.optim.AdamW([{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()])


def fit(
    model: torch.nn.Module,
    examples: Sequence[dict],
    collate: Callable[[list[dict]], dict],
    cfg: TrainingConfig,
    out_dir: Path,
    evaluate: Callable[[torch.nn.Module], float],
    save_best: Callable[[torch.nn.Module], None],
    stage: str,
    accelerator: Accelerator | None = None,
    head_prefixes: tuple[str, ...] = ("classifier",),
    epochs: int | None = None,
) -> FitResult:
    """Train `model` on `examples`; keep the weights with the best `evaluate` score via `save_best`.

    A checkpoint is written every `cfg.checkpoint_every` steps and at each epoch end to
    `out_dir/checkpoint-<stage>.pt`; if one is there, training continues from it.
    """
    accelerator = accelerator or make_accelerator()
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = out_dir / f"checkpoint-{stage}.pt"
    epochs = epochs or cfg.epochs
    set_seed(cfg.seed)

    lengths = [len(ex["input_ids"]) for ex in examples]
    sampler = _EpochBatches(lengths, cfg.batch_size, cfg.seed)
    loader = DataLoader(list(examples), batch_sampler=sampler, collate_fn=collate)
    steps_per_epoch = len(sampler)
    total_steps = steps_per_epoch * epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    optimizer = _optimizer(model, cfg, head_prefixes)
    warmup = int(cfg.warmup_ratio * total_steps)

    def schedule(step: int) -> float:  # linear warm-up, then linear decay to zero
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    progress = {"epoch": 0, "step": 0, "step_in_epoch": 0, "best_score": -1.0, "best_epoch": -1, "bad_epochs": 0, "history": [], "tokens": 0, "seconds": 0.0}
    if ckpt.exists():
        progress = _load_checkpoint(ckpt, model, optimizer, scheduler)
        log.info("%s: resuming from %s at epoch %d, step %d", stage, ckpt, progress["epoch"] + 1, progress["step"])
    resumed_from = progress["step"]

    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    done = progress["step"] >= total_steps or progress["bad_epochs"] > cfg.patience
    while not done and progress["epoch"] < epochs:
        epoch = progress["epoch"]
        sampler.epoch = epoch
        model.train()
        batches = accelerator.skip_first_batches(loader, progress["step_in_epoch"]) if progress["step_in_epoch"] else loader
        bar = tqdm(batches, desc=f"{stage} epoch {epoch + 1}/{epochs}", disable=not accelerator.is_local_main_process,
                   initial=progress["step_in_epoch"], total=steps_per_epoch, leave=False,
                   mininterval=1.0 if sys.stderr.isatty() else 30.0)
        t0 = time.perf_counter()
        running = 0.0
        for batch in bar:
            loss = model(**batch).loss
            accelerator.backward(loss)
            if cfg.grad_clip:
                accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            progress["step"] += 1
            progress["step_in_epoch"] += 1
            progress["tokens"] += int(batch["attention_mask"].sum())
            value = float(loss.detach())
            running = 0.9 * running + 0.1 * value if running else value
            bar.set_postfix(loss=f"{running:.4f}")
            if progress["step"] % cfg.checkpoint_every == 0 and accelerator.is_main_process:
                progress["seconds"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                _save_checkpoint(ckpt, accelerator.unwrap_model(model), optimizer, scheduler, progress)
            if progress["step"] >= total_steps:
                break
        progress["seconds"] += time.perf_counter() - t0
        model.eval()
        score = evaluate(accelerator.unwrap_model(model))
        entry = {"epoch": epoch + 1, "step": progress["step"], "dev_score": round(score, 4), "loss": round(running, 4)}
        progress["history"].append(entry)
        log.info("%s epoch %d: dev %.4f, loss %.4f", stage, epoch + 1, score, running)
        if score > progress["best_score"]:
            progress.update(best_score=score, best_epoch=epoch + 1, bad_epochs=0)
            if accelerator.is_main_process:
                save_best(accelerator.unwrap_model(model))
        else:
            progress["bad_epochs"] += 1
        progress["epoch"] += 1
        progress["step_in_epoch"] = 0
        if accelerator.is_main_process:
            _save_checkpoint(ckpt, accelerator.unwrap_model(model), optimizer, scheduler, progress)
        accelerator.wait_for_everyone()
        done = progress["step"] >= total_steps or progress["bad_epochs"] > cfg.patience
        if progress["bad_epochs"] > cfg.patience:
            log.info("%s: no dev gain for %d epochs, stopping early", stage, progress["bad_epochs"])
    tps = progress["tokens"] / progress["seconds"] if progress["seconds"] else 0.0
    return FitResult(progress["best_score"], progress["best_epoch"], progress["history"], progress["seconds"], tps, resumed_from)
