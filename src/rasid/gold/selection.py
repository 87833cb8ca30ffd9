"""Deterministic selection of the articles to annotate, and their train/dev/test splits.

The criterion, in order (see `SelectionConfig` for the numbers):
1. News reports only: an opinion column is recognised by its URL (known column sections), its
   byline (a bare personal name, with no dateline, wire or outlet), first-person writing, or
   no reporting verb at all; press reviews by their title.
2. Length of title + "\n" + content within [min_chars, max_chars] (a lower floor for ANT's
   short radio items), so one article can be annotated in one sitting.
3. Conflict relevance: keyword hits for each conflict's places and actors (`CONFLICT_TERMS`),
   and for the vocabulary of fighting (`WAR_TERMS`); each term counts at most 3 times. The
   article's conflict is the one with the highest place score; it must reach `min_place_score`
   and the war vocabulary `min_war_score`.
4. Ranking inside each (corpus, conflict) group: place + war score, descending; ties broken by
   a SHA-256 hash of (seed, id), never by input order alone.
5. Round-robin: groups take turns (each up to its quota); inside a group, outlets take turns,
   each giving its best remaining article. A candidate whose word 4-gram Jaccard similarity to
   an already chosen article reaches `dup_jaccard` is a wire copy and is skipped.
6. Articles listed in the exclusion file (used elsewhere in tests or benchmarks) never enter.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rasid.gold.corpora import SourceArticle

__all__ = [
    "SelectionConfig",
    "Candidate",
    "CONFLICT_TERMS",
    "WAR_TERMS",
    "is_opinion",
    "score_article",
    "candidates_from",
    "select_articles",
    "assign_splits",
    "read_id_list",
]

log = logging.getLogger(__name__)

CONFLICT_TERMS: dict[str, tuple[str, ...]] = {
    "yemen": ("اليمن", "اليمني", "صنعاء", "عدن", "تعز", "مأرب", "الحوثي", "لحج", "أبين", "شبوة", "الضالع",
              "الحديدة", "عاصفة الحزم", "إعادة الأمل", "المقاومة الشعبية", "قاعدة العند", "المخلوع"),
    "syria": ("سوريا", "سورية", "السوري", "دمشق", "حلب", "حمص", "حماة", "إدلب", "ادلب", "درعا", "دير الزور",
              "الرقة", "اللاذقية", "الزبداني", "القلمون", "جبهة النصرة", "جيش الفتح", "الجيش الحر", "نظام الأسد"),
    "iraq": ("العراق", "العراقي", "بغداد", "الموصل", "الأنبار", "الرمادي", "الفلوجة", "تكريت", "صلاح الدين",
             "ديالى", "كركوك", "الحشد الشعبي", "البيشمركة", "أربيل", "نينوى", "العبادي", "بيجي"),
    "isis": ("داعش", "تنظيم الدولة", "الدولة الإسلامية", "الدولة الاسلامية", "البغدادي"),
    "libya": ("ليبيا", "الليبي", "طرابلس", "بنغازي", "سرت", "درنة", "مصراتة", "حفتر", "فجر ليبيا",
              "البنيان المرصوص", "الوفاق", "السراج", "الهلال النفطي", "صبراتة"),
}

WAR_TERMS: tuple[str, ...] = (
    "قصف", "غارة", "غارات", "اشتباك", "معارك", "مواجهات", "سيطر", "استعاد", "انسحب", "هجوم", "قوات", "الجيش",
    "مسلح", "ميليشي", "مليشي", "المعارضة", "تحرير", "مقتل", "قتلى", "جرحى", "التحالف", "مدفعي", "صاروخ",
    "الطيران", "مقاتل", "فصائل", "هاون", "تفجير", "انتحاري", "عسكري", "المتمردين", "تنظيم",
)

# Which conflicts each corpus is drawn for (issue 3): ANT's international news covers Libya,
# Syria and Iraq; SaudiNewsNet 2015 Yemen, Syria, Iraq and ISIS.
CORPUS_CONFLICTS: dict[str, tuple[str, ...]] = {
    "saudinewsnet": ("yemen", "syria", "iraq", "isis"),
    "ant": ("libya", "syria", "iraq"),
}

# Column sections in the outlets' URLs, and bylines that mark columns or editorials.
OPINION_URL_MARKERS: tuple[str, ...] = ("/Articles/Detail.aspx", "/articles/", "/opinion", "/writers/", "/columns")
OPINION_BYLINE_MARKERS: tuple[str, ...] = ("كلمة", "رأي", "افتتاحية", "بقلم", "د.", "د ")
WIRE_OR_DATELINE = re.compile(r"[:\-ـ–(،/]|واس|وكالات|رويترز|فرانس|أ ف ب|ا ف ب|د ب|كونا|الوئام|سبق|اليوم|الوطن|الجزيرة|عكاظ|الرياض|الشرق الأوسط|الاقتصادية")
FIRST_PERSON = re.compile(r"(?:^|\s)(?:أنا|إنني|انني|نحن|إننا|اننا|أعتقد|اعتقد|أظن|برأيي|في رأيي|لدينا|علينا|بلادنا|قلت|كتبت)(?=\s|[.,،؛:]|$)")
# Press reviews and digests are lists of other papers' headlines, not reports.
NON_REPORT_TITLES: tuple[str, ...] = ("اهتمامات الصحف", "جولة الصحافة", "أبرز عناوين", "رأي", "مقال")
REPORTING = re.compile(r"(?:قال|قالت|أفاد|افاد|أعلن|اعلن|ذكر|أكد|اكد|أوضح|اوضح|أضاف|اضاف|أشار|اشار|نقلت|بحسب|وفق)")


@dataclass(frozen=True)
class SelectionConfig:
    """Every number of the selection criterion; the defaults are the committed selection."""

    seed: int = 20150721
    min_chars: int = 600
    max_chars: int = 2500
    min_place_score: int = 3
    min_war_score: int = 5
    # ANT's radio items are short (median ~600 characters): a lower floor keeps Libya, Syria and
    # Iraq represented from the one non-Saudi outlet.
    min_chars_by_corpus: dict[str, int] = field(default_factory=lambda: {"ant": 400})
    min_war_score_by_corpus: dict[str, int] = field(default_factory=lambda: {"ant": 4})
    dup_jaccard: float = 0.3
    # (corpus, conflict) → how many articles; 180 in all, so that ≥ 150 survive any drop-outs.
    quotas: dict[tuple[str, str], int] = field(
        default_factory=lambda: {
            ("saudinewsnet", "yemen"): 36,
            ("saudinewsnet", "syria"): 36,
            ("saudinewsnet", "iraq"): 28,
            ("saudinewsnet", "isis"): 26,
            ("ant", "libya"): 22,
            ("ant", "syria"): 18,
            ("ant", "iraq"): 14,
        }
    )
    test_fraction: float = 0.22
    dev_fraction: float = 0.11


@dataclass
class Candidate:
    article: SourceArticle
    conflict: str
    place_score: int
    war_score: int
    tiebreak: str

    @property
    def group(self) -> tuple[str, str]:
        return (self.article.meta["corpus"], self.conflict)

    @property
    def score(self) -> int:
        return self.place_score + self.war_score


def _stable_hash(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def _capped_hits(text: str, terms: Iterable[str], cap: int = 3) -> int:
    return sum(min(text.count(t), cap) for t in terms)


def is_opinion(article: SourceArticle) -> bool:
    """A column or editorial rather than a report (see the module docstring)."""
    url = article.meta.get("url", "")
    if any(m in url for m in OPINION_URL_MARKERS) or any(m in article.title for m in NON_REPORT_TITLES):
        return True
    byline = article.author.strip()
    if byline:
        if any(byline.startswith(m) for m in OPINION_BYLINE_MARKERS):
            return True
        # A bare name of 2-4 words with no dateline, wire or outlet: a columnist.
        if not WIRE_OR_DATELINE.search(byline) and len(byline.split()) <= 4:
            return True
    first_person = len(FIRST_PERSON.findall(article.text))
    return first_person >= 2 or not REPORTING.search(article.text)


def score_article(article: SourceArticle) -> tuple[str, int, int] | None:
    """(conflict, place score, war score) for the corpus's conflicts, or None when none applies."""
    conflicts = CORPUS_CONFLICTS.get(article.meta.get("corpus", ""), ())
    if not conflicts:
        return None
    text = article.text
    place = {c: _capped_hits(text, CONFLICT_TERMS[c]) for c in conflicts}
    best = max(conflicts, key=lambda c: (place[c], -conflicts.index(c)))
    return best, place[best], _capped_hits(text, WAR_TERMS)


def candidates_from(articles: Iterable[SourceArticle], config: SelectionConfig, excluded: set[str]) -> list[Candidate]:
    """Every article that passes the filters of steps 1-3 and 6, scored."""
    out = []
    seen_urls: set[str] = set()
    for art in articles:
        if art.id in excluded or not art.extra.get("has_title", True) or not art.extra.get("has_content", True):
            continue
        url, corpus = art.meta.get("url", ""), art.meta.get("corpus", "")
        min_chars = config.min_chars_by_corpus.get(corpus, config.min_chars)
        if not min_chars <= len(art.text) <= config.max_chars or (url and url in excluded):
            continue
        scored = score_article(art)
        if scored is None:
            continue
        conflict, place, war = scored
        min_war = config.min_war_score_by_corpus.get(corpus, config.min_war_score)
        if place < config.min_place_score or war < min_war or is_opinion(art):
            continue
        # The crawl holds some URLs twice (re-crawled on a later day): keep the first.
        if url and url in seen_urls:
            continue
        seen_urls.add(url)
        out.append(Candidate(art, conflict, place, war, _stable_hash(config.seed, art.id)))
    return out


def _shingles(text: str, n: int = 4) -> set[str]:
    words = text.split()
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def select_articles(candidates: list[Candidate], config: SelectionConfig) -> list[Candidate]:
    """Round-robin over (corpus, conflict) groups and, inside each, over outlets (steps 4-5)."""
    queues: dict[tuple[str, str], dict[str, list[Candidate]]] = defaultdict(lambda: defaultdict(list))
    for cand in candidates:
        if cand.group in config.quotas:
            queues[cand.group][cand.article.meta["source"]].append(cand)
    for outlets in queues.values():
        for queue in outlets.values():
            queue.sort(key=lambda c: (-c.score, c.tiebreak))
    groups = sorted(config.quotas)
    taken: dict[tuple[str, str], int] = defaultdict(int)
    outlet_turn: dict[tuple[str, str], int] = defaultdict(int)
    chosen: list[Candidate] = []
    chosen_shingles: list[set[str]] = []
    progress = True
    while progress:
        progress = False
        for group in groups:
            if taken[group] >= config.quotas[group]:
                continue
            outlets = sorted(o for o, q in queues[group].items() if q)
            picked = None
            # Try outlets in turn until one yields an article that is no wire copy of a chosen one.
            while outlets and picked is None:
                outlet = outlets[outlet_turn[group] % len(outlets)]
                queue = queues[group][outlet]
                while queue and picked is None:
                    cand = queue.pop(0)
                    sh = _shingles(cand.article.text)
                    if all(_jaccard(sh, other) < config.dup_jaccard for other in chosen_shingles):
                        picked = cand
                        chosen_shingles.append(sh)
                outlet_turn[group] += 1
                outlets = sorted(o for o, q in queues[group].items() if q)
            if picked is not None:
                chosen.append(picked)
                taken[group] += 1
                progress = True
    for group in groups:
        if taken[group] < config.quotas[group]:
            log.warning("group %s: only %d of %d articles qualified", group, taken[group], config.quotas[group])
    return chosen


def assign_splits(items: list[tuple[str, str]], config: SelectionConfig) -> dict[str, list[str]]:
    """Split article ids by article, stratified: each stratum (corpus/conflict) gives its own
    round(n * test_fraction) articles to test and round(n * dev_fraction) to dev, taken in
    seeded-hash order; the rest is train. `items` are (id, stratum) in selection order, and
    each split lists its ids in that order."""
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for art_id, stratum in items:
        by_stratum[stratum].append(art_id)
    split_of: dict[str, str] = {}
    for ids in by_stratum.values():
        ranked = sorted(ids, key=lambda i: _stable_hash(config.seed, i))
        n_test, n_dev = round(len(ids) * config.test_fraction), round(len(ids) * config.dev_fraction)
        for k, art_id in enumerate(ranked):
            split_of[art_id] = "test" if k < n_test else "dev" if k < n_test + n_dev else "train"
    order = [art_id for art_id, _ in items]
    return {name: [i for i in order if split_of[i] == name] for name in ("train", "dev", "test")}


def read_id_list(path) -> set[str]:
    """Ids (or URLs) one per line; blank lines and `#` comments ignored."""
    out = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                out.add(line)
    return out


def selection_records(chosen: list[Candidate]) -> list[dict]:
    """The selection.jsonl rows: {id, text, meta: {source, url, date, license, corpus, conflict}}."""
    return [{"id": c.article.id, "text": c.article.text, "meta": {**c.article.meta, "conflict": c.conflict}} for c in chosen]


def _splits_yaml(splits: dict[str, list[str]], config: SelectionConfig) -> str:
    lines = [
        "# Fixed splits of the gold corpus, by article; written by scripts/select_gold_articles.py.",
        "# Stratified over corpus/conflict (rasid.gold.selection.assign_splits); never edit by hand:",
        "# an article keeps its split for the life of the corpus.",
        f"seed: {config.seed}",
        f"test_fraction: {config.test_fraction}",
        f"dev_fraction: {config.dev_fraction}",
        "counts: {" + ", ".join(f"{k}: {len(v)}" for k, v in splits.items()) + "}",
    ]
    for name in ("train", "dev", "test"):
        lines.append(f"{name}:")
        lines.extend(f"  - {i}" for i in splits[name])
    return "\n".join(lines) + "\n"


def run_selection(corpora_dir, out_dir, excluded_path, config: SelectionConfig, check_only: bool = False) -> str:
    """Read the corpora, select, split, and write (or compare) selection.jsonl and splits.yaml."""
    import json
    from pathlib import Path

    from rasid.errors import RasidDataError
    from rasid.gold.corpora import read_ant, read_saudinewsnet
    from rasid.io import atomic_write

    corpora_dir, out_dir = Path(corpora_dir), Path(out_dir)
    excluded = read_id_list(excluded_path) if excluded_path and Path(excluded_path).exists() else set()
    articles = list(read_saudinewsnet(corpora_dir / "saudinewsnet")) + list(read_ant(corpora_dir / "ant" / "articles.jsonl"))
    candidates = candidates_from(articles, config, excluded)
    chosen = select_articles(candidates, config)
    records = selection_records(chosen)
    splits = assign_splits([(r["id"], f"{r['meta']['corpus']}/{r['meta']['conflict']}") for r in records], config)
    sel_text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    splits_text = _splits_yaml(splits, config)
    sel_path, splits_path = out_dir / "selection.jsonl", out_dir / "splits.yaml"
    if check_only:
        for path, expected in ((sel_path, sel_text), (splits_path, splits_text)):
            if not path.exists() or path.read_text(encoding="utf-8") != expected:
                raise RasidDataError("differs from a fresh selection run (re-run the script without --check)", path=str(path))
    else:
        with atomic_write(sel_path) as handle:
            handle.write(sel_text)
        with atomic_write(splits_path) as handle:
            handle.write(splits_text)
        for path in (sel_path, splits_path):
            path.chmod(0o644)  # atomic_write's temp files are private; data files are for everyone
    return summarize_selection(records, splits, len(articles), len(candidates))


def summarize_selection(records: list[dict], splits: dict[str, list[str]], n_read: int, n_candidates: int) -> str:
    from collections import Counter

    split_of = {i: name for name, ids in splits.items() for i in ids}
    by_group = Counter((r["meta"]["corpus"], r["meta"]["conflict"], split_of[r["id"]]) for r in records)
    by_outlet = Counter(r["meta"]["source"] for r in records)
    lines = [f"read {n_read} articles, {n_candidates} qualified, {len(records)} selected"]
    lines.append(f"{'corpus/conflict':24} {'train':>5} {'dev':>5} {'test':>5} {'all':>5}")
    for corpus, conflict in sorted({(c, k) for c, k, _ in by_group}):
        row = [by_group[(corpus, conflict, s)] for s in ("train", "dev", "test")]
        lines.append(f"{corpus + '/' + conflict:24} {row[0]:5} {row[1]:5} {row[2]:5} {sum(row):5}")
    lines.append(f"{'total':24} " + " ".join(f"{len(splits[s]):5}" for s in ("train", "dev", "test")) + f" {len(records):5}")
    lines.append("outlets: " + ", ".join(f"{k} {v}" for k, v in sorted(by_outlet.items(), key=lambda kv: (-kv[1], kv[0]))))
    return "\n".join(lines)
