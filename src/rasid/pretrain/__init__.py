"""Domain-adaptive pretraining: continue masked-language modelling of an encoder on raw Arabic news.

corpus.py builds the tokenised corpus (dev/test and ANERCorp test articles excluded), masking.py
masks whole words, train.py runs the resumable MLM loop and exports the adapted encoder.
"""
