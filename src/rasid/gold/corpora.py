"""Readers for the raw news corpora that the gold corpus draws from.

The article text is `title + "\n" + content`, byte for byte as in the source: no
normalisation, so that offsets stay valid against the original.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rasid.errors import RasidDataError

__all__ = ["SourceArticle", "read_saudinewsnet", "read_ant", "SNN_LICENSE", "ANT_LICENSE", "DEFAULT_CORPORA_DIR"]

DEFAULT_CORPORA_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "corpora"
SNN_LICENSE = "CC BY-NC-SA 4.0"
ANT_LICENSE = "Apache-2.0"


@dataclass
class SourceArticle:
    """One raw article with the fields selection needs; `meta` is what goes into the gold record."""

    id: str
    text: str
    meta: dict
    author: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.text.split("\n", 1)[0]


def read_saudinewsnet(folder: str | Path) -> Iterator[SourceArticle]:
    """SaudiNewsNet zips in date order; id `snn-<outlet>-<n>`, n = the article's 0-based position
    among that outlet's articles in (zip name, array) order, so ids are stable for the corpus."""
    folder = Path(folder)
    zips = sorted(folder.glob("*.zip"))
    if not zips:
        raise RasidDataError("no SaudiNewsNet zip files here", path=str(folder))
    per_outlet: dict[str, int] = defaultdict(int)
    for zpath in zips:
        with zipfile.ZipFile(zpath) as zf:
            for name in sorted(zf.namelist()):
                try:
                    records = json.loads(zf.read(name))
                except json.JSONDecodeError as exc:
                    raise RasidDataError(f"not valid JSON ({exc.msg})", path=f"{zpath}:{name}") from None
                for rec in records:
                    outlet = rec.get("source") or "unknown"
                    n = per_outlet[outlet]
                    per_outlet[outlet] += 1
                    title, content = rec.get("title") or "", rec.get("content") or ""
                    yield SourceArticle(
                        id=f"snn-{outlet}-{n}",
                        text=f"{title}\n{content}",
                        meta={
                            "source": outlet,
                            "url": rec.get("url") or "",
                            "date": (rec.get("date_extracted") or "")[:10],
                            "license": SNN_LICENSE,
                            "corpus": "saudinewsnet",
                        },
                        author=rec.get("author") or "",
                        extra={"has_title": bool(title.strip()), "has_content": bool(content.strip())},
                    )


_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})")


def _iso_date(value: str) -> str:
    m = _DMY.match(value or "")
    if m:
        return f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
    return (value or "")[:10]


def read_ant(path: str | Path, category: str | None = "internationalNews") -> Iterator[SourceArticle]:
    """ANT v1.1 (Jawhara FM) JSONL; id `ant-<ANT id>`."""
    path = Path(path)
    if not path.exists():
        raise RasidDataError("no such file", path=str(path))
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RasidDataError(f"not valid JSON ({exc.msg})", path=str(path), record=f"line {lineno}") from None
            if category and rec.get("category") != category:
                continue
            title, content = rec.get("title") or "", rec.get("text") or ""
            yield SourceArticle(
                id=f"ant-{rec['id']}",
                text=f"{title}\n{content}",
                meta={
                    "source": "jawharafm",
                    "url": rec.get("url") or "",
                    "date": _iso_date(rec.get("time") or ""),
                    "license": ANT_LICENSE,
                    "corpus": "ant",
                },
                extra={"has_title": bool(title.strip()), "has_content": bool(content.strip())},
            )
