"""Whole-word masking: when a word is chosen, every piece of it is masked.

Arabic words often split into a clitic, a bare ▁ and one or two stem pieces; masking pieces
independently would let the model read a name back from its other half.
"""

from __future__ import annotations

import torch

IGNORE = -100


def mask_whole_words(
    input_ids: torch.Tensor,
    word_starts: torch.Tensor,
    special: torch.Tensor,
    *,
    mask_id: int,
    random_pool: torch.Tensor,
    prob: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels) for a batch [B, L]. Words are chosen with probability `prob`; their pieces
    become <mask> (80 %), a random piece of `random_pool` (10 %) or stay (10 %). Labels are the original ids
    at the chosen pieces, IGNORE elsewhere. Special positions (<s>, </s>, padding) are never chosen.
    """
    device = input_ids.device
    batch, length = input_ids.shape
    # a special position is a word of its own, and the piece after it starts a new one
    boundary = word_starts | special
    boundary[:, 1:] |= special[:, :-1]
    word_index = torch.cumsum(boundary.long(), dim=1)
    chosen_word = torch.rand(batch, length + 1, generator=generator, device=device) < prob
    chosen = torch.gather(chosen_word, 1, word_index.clamp(max=length)) & ~special
    if not chosen.any():  # a batch with no target gives a NaN loss: take the word of one regular piece
        candidates = (~special).nonzero()
        if len(candidates):
            row, col = candidates[torch.randint(len(candidates), (1,), generator=generator, device=device)].squeeze(0).tolist()
            chosen[row] = (word_index[row] == word_index[row, col]) & ~special[row]
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE))
    roll = torch.rand(batch, length, generator=generator, device=device)
    inputs = input_ids.clone()
    inputs[chosen & (roll < 0.8)] = mask_id
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    random_ids = random_pool[torch.randint(len(random_pool), (batch, length), generator=generator, device=device)]
    inputs[swap] = random_ids[swap]
    return inputs, labels
