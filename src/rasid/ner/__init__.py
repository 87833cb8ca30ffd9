"""Named-entity recognition: pieces and labels (alignment), long articles (windows), spans out (decoding)."""

from rasid.ner.alignment import IGNORE_INDEX, ModelEncoding, align_labels, boundary_misses, encode_for_model
from rasid.ner.decoding import decode_entities, spans_to_word_tags, tags_to_spans
from rasid.ner.windows import make_windows, merge_window_scores

__all__ = [
    "IGNORE_INDEX",
    "ModelEncoding",
    "align_labels",
    "boundary_misses",
    "decode_entities",
    "encode_for_model",
    "make_windows",
    "merge_window_scores",
    "spans_to_word_tags",
    "tags_to_spans",
]
