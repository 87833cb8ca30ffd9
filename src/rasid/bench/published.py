"""Published ANERCorp figures to show beside ours. Not comparable: other encoders (Arabic BERT-base,
~110-135 M parameters, pretrained on Arabic), the full training split, GPU fine-tuning for more
steps. Sources were checked where reachable; what could not be checked says so."""

from __future__ import annotations

__all__ = ["PUBLISHED"]

PUBLISHED = [
    {
        "system": "CAMeLBERT-MSA fine-tuned (run_token_classification.py, max_length 512, batch 32, 3 epochs)",
        "encoder": "CAMeL-Lab/bert-base-arabic-camelbert-msa (BERT-base, MSA pretraining)",
        "split": "CAMeL split (Obeid et al. 2020), full train",
        "f1": "≈ 0.80–0.82 (micro F1, as reported)",
        "source": "Inoue, Alhafni, Baimukan, Bouamor, Habash (2021), The Interplay of Variant, Size, and Task Type in Arabic "
                  "Pre-trained Language Models, EACL WANLP; recipe from github.com/CAMeL-Lab/CAMeLBERT README",
        "checked": "recipe checked in the CAMeLBERT README; the paper's table itself was not reachable here, so the figure "
                   "is quoted as a range, not verified",
        "comparable": False,
    },
    {
        "system": "AraBERTv0.1 fine-tuned",
        "encoder": "aubmindlab/bert-base-arabertv01 (BERT-base, Arabic pretraining, no pre-segmentation)",
        "split": "CAMeL split, full train",
        "f1": "0.831 (reported as macro-F1)",
        "source": "Antoun, Baly, Hajj (2020), AraBERT, OSACT/LREC; figure from the aub-mind/arabert README results table "
                  "(update of 19 Nov 2020: scores on the CAMeL splits)",
        "checked": "read in the aub-mind/arabert README",
        "comparable": False,
    },
    {
        "system": "AraBERTv1 fine-tuned",
        "encoder": "aubmindlab/bert-base-arabert (BERT-base, Farasa-segmented input)",
        "split": "CAMeL split, full train",
        "f1": "0.824 (reported as macro-F1)",
        "source": "same README table as AraBERTv0.1",
        "checked": "read in the aub-mind/arabert README",
        "comparable": False,
    },
    {
        "system": "mBERT fine-tuned (AraBERT's baseline)",
        "encoder": "bert-base-multilingual-cased",
        "split": "CAMeL split, full train",
        "f1": "0.784 (reported as macro-F1)",
        "source": "same README table as AraBERTv0.1",
        "checked": "read in the aub-mind/arabert README",
        "comparable": False,
    },
]
