"""Shared by test_export, test_bundle and test_serving: one tiny run and its bundle per session.

The shipped data has no relations yet, so the run trains on synthetic Arabic news sentences with
entities and relations (CONTROLS, WITHDREW_FROM, ATTACKED, FIGHTS): small, but it exercises both
ONNX graphs. Built once per pytest session (module-level cache) in a session temp folder.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GROUPS = ["قوات النظام", "الجيش الحر", "جبهة النصرة", "حزب الله", "وحدات الحماية", "تنظيم الدولة"]
PLACES = ["حمص", "حلب", "درعا", "إدلب", "الرقة", "تدمر", "القصير", "دير الزور", "منبج", "عدن"]
OFFICIALS = ["بشار الأسد", "حسن نصر الله", "أبو محمد الجولاني"]
AGENCIES = ["الأمم المتحدة", "الهلال الأحمر", "وزارة الدفاع"]

# (template, relation) with {a}/{b} groups and {l} a place; relation None = a sentence without one
TEMPLATES = [
    ("سيطرت {a} على مدينة {l} بعد معارك عنيفة .", ("CONTROLS", "a", "l")),
    ("أعلنت {a} سيطرتها الكاملة على {l} صباح اليوم .", ("CONTROLS", "a", "l")),
    ("انسحبت {a} من {l} تحت ضغط الهجمات .", ("WITHDREW_FROM", "a", "l")),
    ("قصفت {a} أحياء {l} بالمدفعية الثقيلة .", ("ATTACKED", "a", "l")),
    ("اشتبكت {a} مع {b} في ريف {l} .", ("FIGHTS", "a", "b")),
    ("زار {o} مدينة {l} أمس .", None),
    ("قالت {g} إن المساعدات وصلت إلى {l} .", None),
    ("وصلت قافلة جديدة إلى {l} وسط هدوء حذر .", None),
]


def _render(template: str, rng: random.Random, offset: int) -> tuple[str, list[tuple[str, dict]]]:
    fills = {"a": rng.choice(GROUPS), "l": rng.choice(PLACES), "o": rng.choice(OFFICIALS), "g": rng.choice(AGENCIES)}
    fills["b"] = rng.choice([g for g in GROUPS if g != fills["a"]])
    labels = {"a": "ARMED_GROUP", "b": "ARMED_GROUP", "l": "LOC", "o": "OFFICIAL", "g": "AGENCY"}
    out, ents, pos = "", {}, 0
    while pos < len(template):
        brace = template.find("{", pos)
        if brace < 0:
            out += template[pos:]
            break
        out += template[pos:brace]
        key = template[brace + 1]
        start = offset + len(out)
        out += fills[key]
        ents[key] = {"start": start, "end": start + len(fills[key]), "label": labels[key], "text": fills[key]}
        pos = brace + 3
    return out, list(ents.items())


def synthetic_articles(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    articles = []
    for i in range(n):
        text, entities, relations = "", [], []
        for _ in range(rng.randint(2, 4)):
            template, rel = rng.choice(TEMPLATES)
            if text:
                text += "\n"
            sentence, ents = _render(template, rng, len(text))
            ids = {}
            for key, e in ents:
                e = {"id": f"e{len(entities) + 1}", **e}
                entities.append(e)
                ids[key] = e["id"]
            if rel:
                relations.append({"head": ids[rel[1]], "tail": ids[rel[2]], "label": rel[0]})
            text += sentence
        for e in entities:
            assert text[e["start"] : e["end"]] == e["text"]
        articles.append({"id": f"syn-{seed}-{i:03d}", "text": text, "entities": entities, "relations": relations})
    return articles


def write_jsonl(path: Path, articles: list[dict]) -> Path:
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), encoding="utf-8")
    return path


def env() -> dict:
    e = dict(os.environ)
    e.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    return e


def rasid_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rasid", *args], cwd=ROOT, env=env(), capture_output=True, text=True,
                          timeout=timeout)


# Imports a bundle server must never need: the training stack and rasid's training modules.
BLOCK_TRAINING = """
import importlib.abc, sys
BLOCKED = ("torch", "transformers", "accelerate", "safetensors", "seqeval", "rasid.training", "rasid.runner",
           "rasid.ner.train", "rasid.relations.train", "rasid.relations.model", "rasid.export", "rasid.onnx_graphs")
class BlockTraining(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"{name} is blocked: a bundle must load without the training stack")
        return None
sys.meta_path.insert(0, BlockTraining())
"""

_CACHE: dict[str, Path] = {}


def tiny_run(base: Path) -> dict[str, Path]:
    """Synthetic data + a tiny run trained on it (entities and relations); built once per session."""
    if "run" not in _CACHE:
        data = base / "data"
        data.mkdir(parents=True, exist_ok=True)
        train = write_jsonl(data / "train.jsonl", synthetic_articles(80, seed=1))
        dev = write_jsonl(data / "dev.jsonl", synthetic_articles(12, seed=2))
        test = write_jsonl(data / "test.jsonl", synthetic_articles(16, seed=3))
        run = base / "run"
        proc = rasid_cli("train", "--config", "configs/tiny.yaml", "--output", str(run), "--data.train", str(train),
                         "--data.dev", str(dev), "--data.test", str(test), "--training.epochs", "10", "--training.lr", "0.005",
                         "--training.patience", "20", "--relations.epochs", "4", "--relations.lr", "0.003")
        assert proc.returncode == 0, proc.stderr[-3000:]
        _CACHE.update(run=run, train=train, dev=dev, test=test)
    return dict(_CACHE)


def tiny_bundle(base: Path) -> dict[str, Path]:
    """The tiny run exported (with the parity check) to a bundle; built once per session."""
    paths = tiny_run(base)
    if "bundle" not in _CACHE:
        from rasid.export import export_bundle

        _CACHE["bundle"] = export_bundle(paths["run"], base / "bundle", check=True)
    return dict(_CACHE)
