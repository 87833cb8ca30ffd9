"""The gold corpus: article selection, the annotators' YAML format, and the Label Studio export.

- `rasid.gold.corpora`: read the raw SaudiNewsNet and ANT corpora into `SourceArticle` records.
- `rasid.gold.selection`: the deterministic choice of articles to annotate and their splits.
- `rasid.gold.resolve`: turn one annotation file (mention strings) into exact character offsets.
- `rasid.gold.export`: resolve every file and write the Label Studio export and split JSONL files.
- `rasid.gold.show`: what annotators see (article, new-file skeleton, resolved spans).
- `rasid.gold.agreement`: entity / relation F1 between the gold pass and a second pass.
"""
