"""Converters at the edge: CoNLL-style NER corpora → the article records of contract.md."""

from rasid.corpora.clitics import ProcliticFixer, load_gazetteer_names, lookup_form
from rasid.corpora.conll import DIALECTS, CorpusStats, Dialect, Sentence, group_sentences, read_sentences, repair_iob, tag_spans
from rasid.corpora.mapping import LabelMapping, load_mapping
from rasid.corpora.readers import load_conll_corpus, read_anercorp, read_aqmar, read_fane, shared_data_root

__all__ = [
    "DIALECTS",
    "CorpusStats",
    "Dialect",
    "LabelMapping",
    "ProcliticFixer",
    "Sentence",
    "group_sentences",
    "load_conll_corpus",
    "load_gazetteer_names",
    "load_mapping",
    "lookup_form",
    "read_anercorp",
    "read_aqmar",
    "read_fane",
    "read_sentences",
    "repair_iob",
    "shared_data_root",
    "tag_spans",
]
