"""Distilling an encoder into fewer layers: a student that keeps every other layer of its teacher
and learns to reproduce the teacher's hidden states on raw Arabic news.

Half the layers is half the encoder's time on a CPU, in PyTorch and in ONNX alike. Starting
from the teacher's own layers (as DistilBERT does) rather than from random weights means the
student begins close to the teacher; the hidden-state loss (TinyBERT's, without its attention
term) then repairs what skipping layers broke. The student's layer i is matched to the teacher
layer it was copied from, so the last student layer answers for the teacher's last layer, and
the embeddings are matched too. No head is needed, so a shipped encoder without its masked-LM
head (rasid-ar) can be a teacher.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from rasid.errors import RasidConfigError

__all__ = ["HiddenStateDistillation", "kept_layers", "make_student"]


def kept_layers(teacher_layers: int, student_layers: int) -> list[int]:
    """Teacher layers the student keeps, evenly spaced and always ending with the last:
    12 → 6 keeps 1, 3, 5, 7, 9, 11 (0-based)."""
    if not 0 < student_layers <= teacher_layers:
        raise RasidConfigError(f"distil.layers: {student_layers} must be between 1 and the teacher's {teacher_layers} layers")
    step = teacher_layers / student_layers
    return [round((i + 1) * step) - 1 for i in range(student_layers)]


class _Student(nn.Module):
    """Holds the encoder as `.bert`, the attribute the export reads."""

    def __init__(self, bert: nn.Module):
        super().__init__()
        self.bert = bert


def make_student(teacher: nn.Module, layers: list[int]) -> nn.Module:
    """A copy of the teacher (a BertModel) with only `layers` left in its encoder."""
    student = copy.deepcopy(teacher)
    student.encoder.layer = nn.ModuleList([student.encoder.layer[i] for i in layers])
    student.config.num_hidden_layers = len(layers)
    for p in student.parameters():
        p.requires_grad_(True)
    return student


class HiddenStateDistillation:
    """The objective `run_pretraining` trains with: mean squared error between the student's hidden
    states (embeddings and each layer) and the teacher's at the layers they came from."""

    title = "distillation loss (hidden-state MSE)"

    def __init__(self, teacher_dir: Path, student_layers: int):
        from transformers import BertModel

        self.teacher = BertModel.from_pretrained(str(teacher_dir), dtype=torch.float32, add_pooling_layer=False).eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.layers = kept_layers(self.teacher.config.num_hidden_layers, student_layers)
        self.model = _Student(make_student(self.teacher, self.layers))
        # hidden_states[0] is the embedding output, hidden_states[k + 1] that of layer k
        self.pairs = [(0, 0)] + [(i + 1, k + 1) for i, k in enumerate(self.layers)]
        self._device = None

    def loss(self, ids, starts, special, generator, device) -> tuple[torch.Tensor, int]:
        if self._device != device:  # the loop moves the student; the teacher follows once
            self.teacher.to(device)
            self._device = device
        ids = ids.to(device, non_blocking=True)
        with torch.no_grad():
            target = self.teacher(input_ids=ids, output_hidden_states=True).hidden_states
        hidden = self.model.bert(input_ids=ids, output_hidden_states=True).hidden_states
        terms = [nn.functional.mse_loss(hidden[s].float(), target[t].float()) for s, t in self.pairs]
        return torch.stack(terms).mean(), int(ids.numel())
