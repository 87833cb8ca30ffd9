"""Relations between entities: candidate pairs, marked encoder input, a pair classifier."""
