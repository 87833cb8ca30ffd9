"""ONNX graphs of the two models, traced with `torch.onnx.export(dynamo=False, opset 17)`, and
their int8 variants (`onnxruntime.quantization.quantize_dynamic`).

toolchain-notes.md: the TorchScript exporter handles these BERT encoders (logits within 1e-6 of
PyTorch); optimum cannot sit beside transformers 5, so it is not used.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

__all__ = ["OPSET", "export_entity_graph", "export_relation_graph", "quantize_int8"]

OPSET = 17


class _EntityLogits(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


class _PairLogits(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        return self.model.pair_logits(input_ids, attention_mask, pairs)


def _dummy(vocab_size: int, batch: int = 2, length: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, max(6, vocab_size), (batch, length), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, length - 4 :] = 0  # a padded row, so the mask path is traced
    return ids, mask


@contextlib.contextmanager
def _eager_attention(model):
    """Trace the plain attention (matmul, additive mask, softmax), not SDPA. The TorchScript
    exporter turns SDPA into Where/IsNaN guards over every [heads, n, n] score tensor: on 256-piece
    windows they took 21-29 % of ONNX Runtime's time and left fp32 ONNX slower than PyTorch.
    Measured on rasid-ar, 1 × 256 pieces, 2 threads: int8 62 → 39 ms, fp32 116 → 81 ms."""
    previous = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(previous)


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], output: str, axes: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings about Python control flow on shapes
        torch.onnx.export(module.eval(), args, str(path), input_names=inputs, output_names=[output], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)


def export_entity_graph(model: nn.Module, path: Path) -> None:
    """(input_ids, attention_mask) [batch, sequence] int64 → logits [batch, sequence, tags]."""
    ids, mask = _dummy(model.config.vocab_size)
    seq = {0: "batch", 1: "sequence"}
    with _eager_attention(model):
        _export(_EntityLogits(model), (ids, mask), path, ["input_ids", "attention_mask"], "logits",
                {"input_ids": seq, "attention_mask": seq, "logits": seq})


def export_relation_graph(model: nn.Module, path: Path) -> None:
    """(input_ids, attention_mask, pairs [n, 3] = (window, head pos, tail pos)) → pair_logits [n, labels + 1]."""
    ids, mask = _dummy(model.encoder.config.vocab_size)
    pairs = torch.tensor([[0, 1, 5], [1, 2, 6], [0, 3, 1]], dtype=torch.long)
    seq = {0: "batch", 1: "sequence"}
    with _eager_attention(model.encoder):
        _export(_PairLogits(model), (ids, mask, pairs), path, ["input_ids", "attention_mask", "pairs"], "pair_logits",
                {"input_ids": seq, "attention_mask": seq, "pairs": {0: "pairs"}, "pair_logits": {0: "pairs"}})


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 quantisation of weights (MatMul, Gather: the embedding table too), per channel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the quantiser logs every tensor it skips on the root logger; keep the export output readable
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        # one scale per output channel: on the gold test articles per-tensor scales lost 0.9-1.2 entity
        # F1 points (depending on window batching), per-channel 0.24, at the same speed and size
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.disable(previous)
