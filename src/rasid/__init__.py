"""rasid: who-did-what-where extraction from Arabic news."""

__version__ = "0.1.0"


def load(bundle, backend: str = "auto", variant: str = "fp32", threads: int | None = None):
    """`rasid.load(bundle)` → an Extractor with `extract(text)` and `extract_batch(texts)` (see rasid.api)."""
    from rasid.api import load as _load  # lazy: `import rasid` stays light

    return _load(bundle, backend=backend, variant=variant, threads=threads)
