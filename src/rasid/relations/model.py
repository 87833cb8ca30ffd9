"""The pair classifier: an encoder read once per window, then a small head per entity pair."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoConfig, AutoModel

__all__ = ["RelationClassifier"]

HEAD_FILE = "relation_head.safetensors"
META_FILE = "relation_labels.json"


class RelationClassifier(nn.Module):
    """logits[pair] = MLP(LayerNorm([h(head); h(tail)])) over labels + 'no relation' (last), where
    h(entity) is the encoder state of the entity's first piece (markers.py)."""

    def __init__(self, encoder: nn.Module, labels: list[str], class_weights: list[float] | None = None, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.labels = list(labels)
        hidden = encoder.config.hidden_size
        # e5's final states are small (norm ≈ 6 over 384 dims): the LayerNorm rescales them for the MLP
        self.head = nn.Sequential(nn.LayerNorm(2 * hidden), nn.Dropout(dropout), nn.Linear(2 * hidden, hidden), nn.GELU(),
                                  nn.Dropout(dropout), nn.Linear(hidden, len(labels) + 1))
        weights = torch.tensor(class_weights, dtype=torch.float) if class_weights else torch.ones(len(labels) + 1)
        self.register_buffer("class_weights", weights, persistent=False)
        self.threshold: float | None = None  # chosen on dev by the relation stage; saved with the weights

    @property
    def none_index(self) -> int:
        return len(self.labels)

    def pair_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """pairs: [n, 3] rows of (window in batch, head entity position, tail entity position)."""
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        head = states[pairs[:, 0], pairs[:, 1]]
        tail = states[pairs[:, 0], pairs[:, 2]]
        return self.head(torch.cat([head, tail], dim=-1))

    def forward(self, input_ids, attention_mask, pairs, labels=None):
        logits = self.pair_logits(input_ids, attention_mask, pairs)
        loss = nn.functional.cross_entropy(logits, labels, weight=self.class_weights) if labels is not None else None
        return SimpleNamespace(loss=loss, logits=logits)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(path)
        save_file({k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}, str(path / HEAD_FILE))
        (path / META_FILE).write_text(json.dumps({"labels": self.labels, "none": "NONE", "threshold": self.threshold}, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> RelationClassifier:
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        encoder = AutoModel.from_pretrained(path, config=AutoConfig.from_pretrained(path), add_pooling_layer=False)
        model = cls(encoder, meta["labels"])
        model.head.load_state_dict(load_file(str(path / HEAD_FILE)))
        model.threshold = meta.get("threshold")
        return model.eval()
