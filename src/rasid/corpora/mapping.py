"""Map a corpus's native entity types into the project schema, from a YAML file.

A mapping file lists every native type (an unlisted type is an error, so a new type in a
source cannot slip through silently). A type maps to a schema label, or to `O` to drop it,
optionally with retyping rules that look at the mention itself:

    Government:
      label: AGENCY
      retype:
        - to: ARMED_GROUP
          contains: [الجيش, الشرطة, قوات]

A rule matches when one of its phrases occurs as whole words in the mention; the first word
may carry proclitics (للجيش matches الجيش). Comparison uses `lookup_form` (hamza, alef
maqsura and taa marbuta folded), because FANE writes hamza-less text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rasid.corpora.clitics import candidate_strips, lookup_form
from rasid.corpora.conll import CorpusStats
from rasid.errors import RasidConfigError, RasidDataError
from rasid.schema import Schema

__all__ = ["RetypeRule", "TypeMapping", "LabelMapping", "load_mapping", "DROP"]

DROP = "O"


@dataclass(frozen=True)
class RetypeRule:
    to: str
    contains: tuple[tuple[str, ...], ...]  # phrases as lookup-form word tuples

    def matches(self, mention: str) -> bool:
        words = mention.split()
        forms = [{lookup_form(w)} | {lookup_form(f) for _, f in candidate_strips(w)} for w in words]
        plain = [lookup_form(w) for w in words]
        for phrase in self.contains:
            for i in range(len(words) - len(phrase) + 1):
                if phrase[0] in forms[i] and tuple(plain[i + 1 : i + len(phrase)]) == phrase[1:]:
                    return True
        return False


@dataclass(frozen=True)
class TypeMapping:
    label: str  # a schema label or DROP
    retype: tuple[RetypeRule, ...] = ()


@dataclass
class LabelMapping:
    name: str
    types: dict[str, TypeMapping] = field(default_factory=dict)
    path: str = ""

    def resolve(self, native: str, mention: str) -> tuple[str | None, str]:
        """(label or None when dropped, how it was decided) for one mention of a native type."""
        spec = self.types.get(native)
        if spec is None:
            raise RasidDataError(f"type {native!r} (mention {mention!r}) is not in the mapping", path=self.path)
        for number, rule in enumerate(spec.retype):
            if rule.matches(mention):
                return (None if rule.to == DROP else rule.to), f"{native} -> {rule.to} (rule {number + 1})"
        return (None if spec.label == DROP else spec.label), native

    def label_fn(self, stats: CorpusStats | None = None) -> Callable[[str, str], str | None]:
        """A `sentences_to_articles` label function that counts retyped mentions in `stats`."""

        def label(native: str, mention: str) -> str | None:
            result, how = self.resolve(native, mention)
            if stats is not None and "(rule" in how:
                stats.retyped[how] += 1
            return result

        return label


def _phrases(values, where: str) -> tuple[tuple[str, ...], ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise RasidConfigError(f"{where}: 'contains' needs a list of non-empty strings")
    return tuple(tuple(lookup_form(v).split()) for v in values)


def load_mapping(path: str | Path, schema: Schema | None = None) -> LabelMapping:
    """Load and check a mapping file; every target must be a label of `schema` (when given) or O."""
    path = Path(path)
    if not path.exists():
        raise RasidConfigError(f"{path}: mapping file not found")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("types"), dict) or not data["types"]:
        raise RasidConfigError(f"{path}: needs a non-empty 'types' mapping")
    allowed = set(schema.entity_labels) | {DROP} if schema else None

    def check(label, where: str) -> str:
        if not isinstance(label, str) or allowed is not None and label not in allowed:
            raise RasidConfigError(f"{path}: {where} maps to {label!r}, which is not O or a schema label")
        return label

    types = {}
    for native, spec in data["types"].items():
        where = f"type {native}"
        if isinstance(spec, str):
            types[str(native)] = TypeMapping(check(spec, where))
            continue
        if not isinstance(spec, dict) or "label" not in spec:
            raise RasidConfigError(f"{path}: {where} needs a label or a {{label, retype}} mapping")
        rules = tuple(
            RetypeRule(
                check(rule.get("to"), f"{where} rule {i + 1}"), _phrases(rule.get("contains"), f"{path}: {where} rule {i + 1}")
            )
            for i, rule in enumerate(spec.get("retype") or [])
        )
        types[str(native)] = TypeMapping(check(spec["label"], where), rules)
    return LabelMapping(name=str(data.get("name", path.stem)), types=types, path=str(path))
