"""Domain-adaptive pretraining: whole-word masking, leak-free corpus, a resumable MLM loop whose
exported encoder loads like any other. A tiny BERT built on the spot stands in for e5-small-ar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from rasid.encoders.scratch import build_scratch_encoder  # noqa: E402
from rasid.ner.alignment import encode_for_model  # noqa: E402
from rasid.pretrain import corpus as pc  # noqa: E402
from rasid.pretrain.config import load_pretrain_config  # noqa: E402
from rasid.pretrain.masking import IGNORE, mask_whole_words  # noqa: E402
from rasid.pretrain.train import BlockStream, export_encoder, plot_loss_curve, run_pretraining  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _news(n: int = 60) -> list[tuple[str, str, str]]:
    out = []
    with (ROOT / "data" / "gold" / "selection.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            out.append(("ant", record["id"], record["text"]))
            if len(out) == n:
                break
    return out


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    folder, _ = build_scratch_encoder("tiny", [t for _, _, t in _news()], tmp_path_factory.mktemp("enc") / "tiny")
    return folder


def test_whole_words_are_masked_together_and_specials_never():
    ids = torch.arange(10, 42).reshape(2, 16)
    starts = torch.zeros(2, 16, dtype=torch.bool)
    starts[:, ::3] = True  # words of 3 pieces
    special = torch.zeros(2, 16, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    pool = torch.tensor([7, 8])
    seen_masked = 0
    for seed in range(40):
        gen = torch.Generator().manual_seed(seed)
        inputs, labels = mask_whole_words(ids, starts, special, mask_id=3, random_pool=pool, prob=0.3, generator=gen)
        chosen = labels != IGNORE
        assert not (chosen & special).any()
        assert torch.equal(labels[chosen], ids[chosen])
        assert chosen.any()  # never a batch without a target
        word = torch.tensor([0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6]).expand(2, 16)  # specials at 0 and 15
        for b in range(2):
            for w in word[b][chosen[b]].unique():  # a chosen word is chosen whole
                assert chosen[b][word[b] == w].all()
        changed = inputs != ids
        assert set(inputs[changed].tolist()) <= {3, 7, 8}
        assert not (changed & ~chosen).any()
        seen_masked += int(chosen.sum())
    share = seen_masked / (40 * 2 * 14)
    assert 0.15 < share < 0.45  # 30 % of words, roughly 30 % of pieces
    again = mask_whole_words(ids, starts, special, mask_id=3, random_pool=pool, prob=0.3, generator=torch.Generator().manual_seed(5))
    once = mask_whole_words(ids, starts, special, mask_id=3, random_pool=pool, prob=0.3, generator=torch.Generator().manual_seed(5))
    assert all(torch.equal(a, b) for a, b in zip(again, once))


def test_word_starts_follow_whitespace_not_pieces(tiny_dir):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tiny_dir / "tokenizer.json"))
    text = "وقال المتحدث باسم الجيش إن القوات دخلت بلدة الكرامة"
    encoding = encode_for_model(tok, text)
    flags = pc.word_start_flags(encoding)
    assert len(flags) == len(encoding.input_ids) and flags[0]
    # as many word starts as whitespace words: clitics (و، ب) stay inside their word
    assert sum(flags) == len(text.split())


def test_exclusion_drops_ids_and_reprinted_text():
    held = "أعلنت وزارة الدفاع اليوم أن قواتها سيطرت على مدينة الحديدة بعد معارك عنيفة استمرت أياما"
    exclusion = pc.build_exclusion([("snn-x-1", held)], n=8)
    assert exclusion.hits("snn-x-1", "نص آخر تماما")
    reprint = "عاجل: " + held.replace("أعلنت", "أعلنت،") + " وفق مصادر"
    assert exclusion.hits("other", reprint)  # punctuation does not hide a reprint
    assert not exclusion.hits("other", "أعلنت وزارة الدفاع اليوم أن قواتها انسحبت من مواقع قرب الحدود")
    short = pc.build_exclusion([("t-1", "قصف مطار صنعاء")], n=8)  # shorter than a shingle: the whole text counts
    assert short.hits("other", "قصف، مطار صنعاء!") and not short.hits("other", "قصف مطار عدن")


def test_corpus_build_is_leak_free_deterministic_and_atomic(tiny_dir, tmp_path):
    news = _news()
    excluded = news[:3]
    exclusion = pc.build_exclusion([(a, t) for _, a, t in excluded], n=8)
    duplicated = news + [("ant", "copy-of-" + news[10][1], news[10][2])]
    manifest = pc.build_corpus(tiny_dir, duplicated, exclusion, tmp_path / "corpus", workers=1,
                               held_out=lambda aid: aid.endswith(("1", "7")))
    assert manifest["dropped"] == {"excluded (dev/test/ANERCorp test overlap)": 3, "duplicate": 1}
    assert manifest["articles"]["train"] + manifest["articles"]["eval"] == len(news) - 3
    assert manifest["articles"]["eval"] > 0
    _, arrays = pc.load_corpus(tmp_path / "corpus")
    eos = pc.special_ids(tiny_dir)["eos"]
    assert int((arrays["tokens"] == eos).sum()) == manifest["articles"]["train"]
    assert arrays["tokens"].dtype == np.uint16 and arrays["word_starts"].shape == arrays["tokens"].shape
    stamp = (tmp_path / "corpus" / "tokens.npy").stat().st_mtime_ns
    assert pc.build_corpus(tiny_dir, duplicated, exclusion, tmp_path / "corpus", workers=1,
                           held_out=lambda aid: aid.endswith(("1", "7")))["key"] == manifest["key"]
    assert (tmp_path / "corpus" / "tokens.npy").stat().st_mtime_ns == stamp  # up to date: not rebuilt
    assert [p.name for p in tmp_path.iterdir()] == ["corpus"]  # no temp folders left


def test_blocks_wrap_pieces_in_specials():
    tokens = np.arange(100, 130, dtype=np.uint16)
    starts = np.zeros(30, bool)
    stream = BlockStream(tokens, starts, seq_len=8, bos_id=1, eos_id=2)
    assert stream.count == 5
    ids, word_starts, special = stream.batch([0, 4])
    assert ids[0].tolist() == [1, 100, 101, 102, 103, 104, 105, 2]
    assert ids[1].tolist()[1:-1] == list(range(124, 130))
    assert special[:, 0].all() and special[:, -1].all() and not special[:, 1:-1].any()
    assert word_starts[:, 1].all()  # a block's first piece starts a unit even mid-word


@pytest.mark.slow
def test_pretraining_learns_resumes_and_exports_a_loadable_encoder(tiny_dir, tmp_path):
    news = _news()
    pc.build_corpus(tiny_dir, news, pc.build_exclusion([], n=8), tmp_path / "corpus", workers=1,
                    held_out=lambda aid: aid.endswith("3"))
    overrides = {"training.seq_len": "64", "training.batch_size": "8", "training.lr": "3e-3", "training.warmup_steps": "2",
                 "training.eval_every": "5", "training.eval_blocks": "16", "training.max_steps": "10", "training.num_threads": "1"}
    cfg = load_pretrain_config(ROOT / "configs" / "pretrain.yaml", overrides)
    out = tmp_path / "run"

    first, _ = run_pretraining(cfg, tiny_dir, tmp_path / "corpus", out)  # 10 steps, checkpoint at the end
    assert first["step"] == 10 and (out / "checkpoint.pt").is_file()
    cfg.training.max_steps = 20  # a longer run picks up where the last one stopped
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    state["progress"]["max_steps"] = 20
    torch.save(state, out / "checkpoint.pt")
    progress, model = run_pretraining(cfg, tiny_dir, tmp_path / "corpus", out)
    assert progress["resumed"] == [10] and progress["step"] == 20
    losses = [h["eval_loss"] for h in progress["history"]]
    assert [h["step"] for h in progress["history"]] == [0, 5, 10, 15, 20]
    assert losses[-1] < losses[0]  # it learns: held-out masked-LM loss falls
    assert progress["tokens_seen"] == 20 * 8 * 64

    encoder = export_encoder(model, tiny_dir, out / "encoder", name="tiny-adapted", progress=progress,
                             base_origin={"name": "tiny"})
    origin = json.loads((encoder / "origin.json").read_text())
    assert origin["steps"] == 20 and origin["name"] == "tiny-adapted"
    loaded = transformers.AutoModelForTokenClassification.from_pretrained(str(encoder), num_labels=3)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())  # fp16 on disk, float32 in use
    a = loaded.bert.embeddings.word_embeddings.weight
    b = model.bert.embeddings.word_embeddings.weight.detach().half().float()
    assert torch.equal(a, b)
    tok = transformers.AutoTokenizer.from_pretrained(str(encoder))
    assert tok("بغداد")["input_ids"] == transformers.AutoTokenizer.from_pretrained(str(tiny_dir))("بغداد")["input_ids"]
    png = plot_loss_curve(progress["history"], tmp_path / "curve.png", "tiny")
    assert png.stat().st_size > 5000


def test_pretrain_cli_refuses_unknown_keys_and_missing_corpora(tiny_dir, tmp_path, monkeypatch, capsys):
    from rasid.cli import main

    assert main(["pretrain", "--training.no_such_key", "1"]) == 2
    assert "unknown config key --training.no_such_key" in capsys.readouterr().err
    monkeypatch.setenv("RASID_SHARED_DATA", str(tmp_path))
    (tmp_path / "corpora").mkdir()
    config = tmp_path / "p.yaml"
    config.write_text(f"encoder: {tiny_dir}\noutput: {tmp_path / 'out'}\ncorpus:\n  out: {tmp_path / 'c'}\n  exclude_anercorp: null\n")
    code = main(["pretrain", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no news corpora here" in err


@pytest.mark.slow
def test_a_run_resumed_before_it_was_sized_still_sizes_itself_and_stops(tiny_dir, tmp_path):
    pc.build_corpus(tiny_dir, _news(), pc.build_exclusion([], n=8), tmp_path / "corpus", workers=1,
                    held_out=lambda aid: aid.endswith("3"))
    overrides = {"training.seq_len": "64", "training.batch_size": "4", "training.warmup_steps": "2", "training.eval_every": "1000",
                 "training.eval_blocks": "8", "training.max_steps": "5", "training.num_threads": "1"}
    cfg = load_pretrain_config(ROOT / "configs" / "pretrain.yaml", overrides)
    out = tmp_path / "run"
    run_pretraining(cfg, tiny_dir, tmp_path / "corpus", out)
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    state["progress"]["max_steps"] = None  # as if the checkpoint was written while the first steps were being timed
    torch.save(state, out / "checkpoint.pt")
    cfg.training.max_steps, cfg.training.max_minutes = None, 0.001  # the budget is spent: stop right after sizing
    progress, _ = run_pretraining(cfg, tiny_dir, tmp_path / "corpus", out)
    assert progress["resumed"] == [5] and progress["max_steps"] == progress["step"] == 5 + 3 + 20 + 1
