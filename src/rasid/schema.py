"""The extraction schema, loaded from configs/schema.yaml; every label set derives from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from rasid.errors import RasidConfigError

__all__ = ["EntityType", "RelationType", "Schema", "load_schema", "DEFAULT_SCHEMA_PATH"]

DEFAULT_SCHEMA_PATH = Path(__file__).resolve().parents[2] / "configs" / "schema.yaml"
NO_RELATION = "NONE"


@dataclass(frozen=True)
class EntityType:
    name: str
    description: str = ""
    color: str = "#999999"


@dataclass(frozen=True)
class RelationType:
    name: str
    heads: tuple[str, ...]
    tails: tuple[str, ...]
    symmetric: bool = False
    description: str = ""

    def allows(self, head_label: str, tail_label: str) -> bool:
        if head_label in self.heads and tail_label in self.tails:
            return True
        return self.symmetric and tail_label in self.heads and head_label in self.tails


@dataclass(frozen=True)
class Schema:
    entities: tuple[EntityType, ...]
    relations: tuple[RelationType, ...] = field(default_factory=tuple)
    version: int = 1

    @property
    def entity_labels(self) -> list[str]:
        return [e.name for e in self.entities]

    @property
    def relation_labels(self) -> list[str]:
        return [r.name for r in self.relations]

    @cached_property
    def bio_tags(self) -> list[str]:
        """IOB2 tag set, `O` first so that id 0 means outside."""
        return ["O"] + [f"{p}-{e}" for e in self.entity_labels for p in ("B", "I")]

    @cached_property
    def relation_by_name(self) -> dict[str, RelationType]:
        return {r.name: r for r in self.relations}

    @property
    def symmetric_relations(self) -> set[str]:
        return {r.name for r in self.relations if r.symmetric}

    def relation_allowed(self, label: str, head_label: str, tail_label: str) -> bool:
        rel = self.relation_by_name.get(label)
        return rel is not None and rel.allows(head_label, tail_label)

    def pair_allowed(self, head_label: str, tail_label: str) -> bool:
        """True when some relation may join an entity of `head_label` to one of `tail_label`."""
        return any(r.allows(head_label, tail_label) for r in self.relations)

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "entities": {e.name: {"description": e.description, "color": e.color} for e in self.entities},
            "relations": {
                r.name: {"head": list(r.heads), "tail": list(r.tails), "symmetric": r.symmetric, "description": r.description}
                for r in self.relations
            },
        }

    @classmethod
    def from_dict(cls, d: dict, source: str = "schema") -> Schema:
        if not isinstance(d, dict) or not isinstance(d.get("entities"), dict) or not d["entities"]:
            raise RasidConfigError(f"{source}: needs a non-empty 'entities' mapping")
        entities = tuple(
            EntityType(name, **{k: v for k, v in (spec or {}).items() if k in ("description", "color")})
            for name, spec in d["entities"].items()
        )
        names = {e.name for e in entities}
        relations = []
        for name, spec in (d.get("relations") or {}).items():
            if name == NO_RELATION:
                raise RasidConfigError(f"{source}: relation name {NO_RELATION!r} is reserved for 'no relation'")
            spec = spec or {}
            heads, tails = tuple(spec.get("head") or ()), tuple(spec.get("tail") or ())
            unknown = sorted((set(heads) | set(tails)) - names)
            if not heads or not tails:
                raise RasidConfigError(f"{source}: relation {name} needs 'head' and 'tail' entity types")
            if unknown:
                raise RasidConfigError(f"{source}: relation {name} names unknown entity types {unknown}")
            relations.append(RelationType(name, heads, tails, bool(spec.get("symmetric", False)), spec.get("description", "")))
        return cls(entities=entities, relations=tuple(relations), version=int(d.get("version", 1)))


def load_schema(path: str | Path | None = None) -> Schema:
    path = Path(path) if path else DEFAULT_SCHEMA_PATH
    if not path.exists():
        raise RasidConfigError(f"{path}: schema file not found")
    with path.open(encoding="utf-8") as handle:
        return Schema.from_dict(yaml.safe_load(handle), source=str(path))
