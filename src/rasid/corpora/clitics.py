"""Leave attached proclitics out of entity spans (schema.md, span rules) — but only when safe.

Sources such as ANERCorp and FANE tag ولبنان or للامم المتحدة whole. A leading proclitic
sequence (و ف ب ك ل) is cut only when the remainder is attested as a name: in the same
corpus's entity vocabulary (more often than the prefixed form) or in a gazetteer. Names
that merely begin with those letters (بغداد، لبنان، فلسطين) are left alone because their
remainders (غداد، بنان، لسطين) are not names. Where ل + ال fused into لل (للجيش) the span
starts at the second ل (لجيش: that ل is the article's), and the form looked up is الجيش.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["PROCLITICS", "lookup_form", "ProcliticFixer", "load_gazetteer_names", "candidate_strips"]

log = logging.getLogger(__name__)

PROCLITICS = "وفبكل"
MAX_PREFIX = 3  # و + ب + ال is as deep as news text goes (وبالجيش); three letters covers ولل too
MIN_GAZETTEER_LETTERS = 5
MIN_PERSON_LETTERS = 5
SHORT_NAME_MIN_COUNT = 5  # a remainder of 3 letters (مصر، دبي) needs this many sightings
_PREFIX_ORDER = re.compile("^[وف]?[بكل]?$")
_DIACRITICS = re.compile("[\u064b-\u0652\u0670\u0640]")  # harakat, dagger alef, tatweel
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})


def lookup_form(text: str) -> str:
    """Light normalisation for vocabulary look-ups only (FANE writes اسرائيل, gazetteers إسرائيل)."""
    return " ".join(_DIACRITICS.sub("", text).translate(_FOLD).split())


def candidate_strips(mention: str) -> list[tuple[int, str]]:
    """(characters cut, form to look up) for each proclitic prefix, shortest cut first.

    For a cut ending in ل before a ل (للجيش), the span keeps the second ل and the look-up
    form restores the article's alef (الجيش).
    """
    out = []
    for cut in range(1, MAX_PREFIX + 1):
        prefix, rest = mention[:cut], mention[cut:]
        if len(prefix) < cut or any(c not in PROCLITICS for c in prefix) or len(rest.split(" ")[0]) < 2:
            break
        if prefix.endswith("لل"):  # the second ل is the article's (لليابان = ل + اليابان): it stays
            break
        if not _PREFIX_ORDER.match(prefix):  # a conjunction then a preposition, nothing else (not لوك)
            break
        if prefix.endswith("ل") and rest.startswith("ل"):
            out.append((cut, "ا" + rest))
        out.append((cut, rest))
    return out


class ProcliticFixer:
    """Callable: (mention text, label) → number of leading characters to leave out of the span.

    vocabulary: the corpus's entity mentions as (label, text) pairs, prefixes included, counted
    (a bare string counts for every label). gazetteers: label → names from outside the corpus.
    A mention is checked only against names of its own label: the person ندا must not
    "attest" a cut of the place ككندا, nor a first-name list انس in لانس.
    """

    def __init__(self, vocabulary: Iterable | Counter, gazetteers: Mapping[str, Iterable[str]] | None = None):
        counts = vocabulary if isinstance(vocabulary, Counter) else Counter(vocabulary)
        self.counts: Counter = Counter()
        for key, n in counts.items():
            label, name = key if isinstance(key, tuple) else (None, key)
            self.counts[(label, lookup_form(name))] += n
        self.gazetteers = {label: {lookup_form(n) for n in names} for label, names in (gazetteers or {}).items()}

    def _count(self, label: str | None, form: str) -> int:
        return self.counts[(label, form)] + self.counts[(None, form)]

    def __call__(self, mention: str, label: str | None = None) -> int:
        gazetteer = self.gazetteers.get(label, set()) if label else set().union(*self.gazetteers.values())
        original = lookup_form(mention)
        if original in gazetteer:  # a name in its own right (بكين), whatever it starts with
            return 0
        seen = self._count(label, original)
        best, best_evidence = 0, 0.0
        for cut, form in candidate_strips(mention):
            form = lookup_form(form)
            letters = len(form.replace(" ", ""))
            # Evidence: how often the remainder is itself a mention of this label in the
            # corpus (it must beat the prefixed form), else a gazetteer name of the label when
            # the prefixed form is rare and the remainder long enough (GeoNames has short
            # names — وزان، بيان — that would cut لوزان، بوبيان). Persons are the riskiest
            # (foreign names start with these letters: لوران، كابي): their remainders need
            # MIN_PERSON_LETTERS letters.
            evidence = 0.0
            count = self._count(label, form)
            if (
                count > seen
                and (letters >= 4 or count >= SHORT_NAME_MIN_COUNT)
                and (label != "OFFICIAL" or letters >= MIN_PERSON_LETTERS)
            ):
                evidence = float(count)
            elif form in gazetteer and seen <= 2 and letters >= MIN_GAZETTEER_LETTERS:
                evidence = 0.5
            # The best-attested remainder wins: وللامم المتحدة → لامم المتحدة (الامم المتحدة is
            # commoner than للامم المتحدة), بباريس → باريس (not اريس).
            if evidence > best_evidence:
                best, best_evidence = cut, evidence
        return best


def load_gazetteer_names(root: str | Path) -> dict[str, set[str]]:
    """Names by kind ("LOC", "ORG", "PERS") from ANERGazet/*.txt and the GeoNames TSV (LOC)."""
    root = Path(root)
    kinds = {"AlignedLocGazetteer.txt": "LOC", "AlignedOrgGazetteer.txt": "ORG", "AlignedPersGazetteer.txt": "PERS"}
    names: dict[str, set[str]] = {"LOC": set(), "ORG": set(), "PERS": set()}
    for file, kind in kinds.items():
        path = root / "ANERGazet" / file
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8-sig").splitlines():
            line = line.strip()
            if line and not set(line) <= set("=*"):  # ==== and **** separate spelling groups
                names[kind].add(line)
    tsv = root / "geonames_arab_places" / "places_with_arabic_names.tsv"
    if tsv.exists():
        lines = tsv.read_text(encoding="utf-8").splitlines()
        column = lines[0].split("\t").index("arabic_names")
        for line in lines[1:]:
            fields = line.split("\t")
            if len(fields) > column:
                names["LOC"].update(n.strip() for n in fields[column].split("|") if n.strip())
    log.info("gazetteers under %s: %s", root, {k: len(v) for k, v in names.items()})
    return names
