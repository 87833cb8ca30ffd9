"""Rebuild tests/fixtures/labelstudio/ from a real Label Studio server (needs .venv-ls).

    .venv/bin/python scripts/make_labelstudio_fixtures.py [--out tests/fixtures/labelstudio]

Starts a throwaway server, creates a project from the schema's labeling config, imports five
short news articles from the ANT corpus (Apache-2.0), annotates them through the API the way
an annotator's clicks would, and saves the server's exports byte for byte. What each task
exercises: T1 two completed annotations at different times (the later one is complete) and
a span after a clitic (حمص in بحمص); T2 a completed then a cancelled annotation, a relation
drawn right-to-left ('left'); T3 a symmetric relation drawn both ways ('bi') from the later
mention; T4 model predictions with scores, then an annotator's corrected annotation; T5
predictions only (no annotation).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from rasid.articles import Article, Entity, Relation
from rasid.labelstudio.client import check_project, create_project, export_quick, export_tasks, relation, span
from rasid.labelstudio.convert import articles_to_tasks
from rasid.labelstudio.server import LabelStudioServer
from rasid.schema import load_schema

log = logging.getLogger("make_labelstudio_fixtures")

ANT = "ANT corpus v1.1 (antcorpus/antcorpus.data), Jawhara FM"
LICENSE = "Apache-2.0"

# Texts byte for byte from ANT v1.1 articles.jsonl (internationalNews), NBSPs and newlines kept.
ARTICLES = [
    {
        "id": "JA-internationalNews-480-20160402",
        "date": "2016-04-02",
        "url": "http://www.jawharafm.net/ar/article/%D8%A7%D9%84%D8%B9%D8%AB%D9%88%D8%B1-%D8%B9%D9%84%D9%89-%D9%85%D9%82%D8%A8%D8%B1%D8%A9-%D8%AC%D9%85%D8%A7%D8%B9%D9%8A%D8%A9-%D9%81%D9%8A-%D8%AA%D8%AF%D9%85%D8%B1/106/53537",
        "title": 'العثور على "مقبرة جماعية" في تدمر',
        "text": 'أفاد مصدر عسكري لوكالة فرانس برس\xa0اليوم السبت 02 أفريل 2016 أن جيش النظام السوري عثر خلال عمليات تمشيط على مقبرة جماعية شمال شرقي مدينة تدمر الأثرية التي كانت خاضعة لسيطرة تنظيم داعش الارهابي.\nوأوضح ذات المصدر أن عدد جثامين الضحايا الذين تم انتشالهم صباح أمس الجمعة من موقع المقبرة الجماعية وصل حتى الآن إلى 42 بينهم 28 عسكريا و24 مدنيا. وأضاف مصدر ميداني سوري أن من بين الجثامين 15 جثة تعود لأطفال ونساء. وكان جيش النظام قد عثر على المقبرة الجماعية في منطقة مساكن الجاهزية التي كانت تسكن فيها عائلات العسكريين. وقد تم نقل الجثث إلى مستشفى عسكري بحمص، وتم التعرف على بعضها، وفق لما نقلته وكالة الأنباء السورية الرسمية "سانا" عن مصدر ميداني.',
    },
    {
        "id": "JA-internationalNews-854-20170505",
        "date": "2017-05-05",
        "url": "http://www.jawharafm.net/ar/article/بداية-من-منتصف-هذه-الليلة--تطبيق-الاتفاق-الخاص-بتحديد-مناطق-آمنة-في-سوريا/106/84088",
        "title": "بداية من منتصف هذه الليلة : تطبيق الاتفاق الخاص بتحديد مناطق آمنة في سوريا",
        "text": "نقلت وكالات أنباء روسية عن وزارة الدفاع الروسية قولها اليوم الجمعة إن الاتفاق الخاص بتحديد مناطق آمنة في سوريا سيطبق اعتبارا من منتصف ليل اليوم لكن القوات الجوية الروسية ستواصل قصف تنظيم الدولة الإسلامية الارهابي في مناطق أخرى من البلاد.\xa0\nوذكرت الوزارة أن أول وأكبر المناطق الآمنة في شمال سوريا ستتضمن محافظة إدلب وأجزاء من اللاذقية وحلب وحماة. ونسبت الوكالات إلى ألكسندر فومين نائب وزير الدفاع قوله إن موقف الولايات المتحدة هيأ الأجواء لتسوية سياسية في سوريا. وأضاف أن حصول الاتفاق على دعم الأمم المتحدة والولايات المتحدة والسعودية يضمن تنفيذه.",
    },
    {
        "id": "JA-internationalNews-238-20170211",
        "date": "2017-02-11",
        "url": "http://www.jawharafm.net/ar/article/مواجهات-بين-الأمن-السعودي-وإرهابيين-في-جدة-والمدينة/106/77887",
        "title": "مواجهات بين الأمن السعودي وإرهابيين في جدة والمدينة",
        "text": "نفذت قوات الأمن السعودية عملية جديدة في جدة والمدينة فجر اليوم السبت، حيث تبادلت إطلاق النار مع عدد من الإرهابيين المنتمين إلى تنظيم داعش، بمشاركة جوية.\nوأشار موقع صحيفة الرياض السعودية، إلى أن اشتباكات جرت في حي المحاميد، المحاذي لحي الحرازات، وهو الحي الذي شهد عملية أمنية مماثلة قبل أسبوعين، وحاصرت قوات الأمن عددًا من الإرهابيين بالحي، وألقت القبض على بعضهم، فيما أمنت قوات الطوارئ محيط منطقة العمليات، في جنوب شرق جدة. من جهة أخرى طوقت قوات الأمن موقعاً للإرهابيين بحي الربوة في المدينة المنورة. ومن المنتظر أن تصدر وزارة الداخلية السعودية بيانا مفصلا عن الحادثة خلال الساعات القادمة.",
    },
    {
        "id": "JA-internationalNews-689-20170413",
        "date": "2017-04-13",
        "url": "http://www.jawharafm.net/ar/article/لأول-مرة--الولايات-المتحدة-تستعمل-أم-القنابل-في-أفغانستان/106/82439",
        "title": 'لأول مرة : الولايات المتحدة تستعمل "أم القنابل" في أفغانستان',
        "text": 'أعلن البنتاغون عن استعمال قنبلة من نوع GBU-43، اليوم الخميس، لقصف مجموعة من الكهوف التي يستعملها تنظيم داعش الإرهابي في ولاية ننغرهار شرق أفغانستان، وهي تعتبر القنبلة غير النووية الأكثر تدميرا.\nوهي المرة الأولى التي تستعمل فيها الولايات المتحدة هذه القنبلة الضخمة في معاركها، والتي يطلق عليها أيضا إسم "أم كل القنابل"، بحسب المتحدث باسم البنتاغون، آدام ستامب، مضيفا أن القوات الأمريكية استعملت طائرة من نوع MC-130 في هذه العملية.',
    },
    {
        "id": "JA-internationalNews-496-20160207",
        "date": "2016-02-07",
        "url": "http://www.jawharafm.net/ar/article/العراق--القضاء-على-إرهابي-تونسي-/106/49086",
        "title": 'العراق : القضاء على إرهابي "تونسي"',
        "text": 'أوردت وكالة أنباء الإعلام العراقي اليوم أنه تم اليوم الأحد القضاء على ارهابي "تونسي" يعتبر من ابرز قناصة تنظيم "داعش".\nوبحسب مصدر أمني في محافظة صلاح الدين فإن مفرزة خاصة من الحشد الشعبي قتلت احد أبرز قناصي تنظيم داعش قرب جبال مكحول شمالي المحافظة. وذكر المصدر ذاته أن "قوة خاصة من الحشد الشعبي توغلت الى عمق سفوج جبال مكحول شمالي صلاح الدين ونجحت من قتل المدعو (ابو احمد السوسي) تونسي الجنسية والذي يعد من ابرز قناصي تنظيم داعش الارهابي". واضاف ان "داعش فقد العديد من قادته في معارك جبال مكحول التي تحولت الى ارض استنزاف لقدراته البشرية بالاشهر الاخيرة".',
    },
]

# One annotation = spans {key: (needle, label, occurrence)} and relations (key, key, label, direction).
T1_FIRST = {
    "spans": {
        "afp": ("فرانس برس", "AGENCY", 1),
        "army": ("جيش النظام السوري", "ARMED_GROUP", 1),
        "palmyra": ("تدمر", "LOC", 1),
        "isis": ("داعش", "ARMED_GROUP", 1),
    },
    "relations": [],
}
T1_LATER = {
    "spans": {
        **T1_FIRST["spans"],
        "army2": ("جيش النظام", "ARMED_GROUP", 2),
        "masakin": ("مساكن الجاهزية", "LOC", 1),
        "homs": ("حمص", "LOC", 1),  # inside بحمص: the proclitic stays out
        "sana": ("سانا", "AGENCY", 1),
    },
    "relations": [("isis", "palmyra", "CONTROLS", "right")],
}
T2 = {
    "spans": {
        "mod": ("وزارة الدفاع الروسية", "AGENCY", 1),
        "syria1": ("سوريا", "LOC", 1),
        "raf": ("القوات الجوية الروسية", "ARMED_GROUP", 1),
        "is": ("الدولة الإسلامية", "ARMED_GROUP", 1),
        "syria2": ("سوريا", "LOC", 2),
        "idlib": ("إدلب", "LOC", 1),
        "latakia": ("اللاذقية", "LOC", 1),
        "aleppo": ("حلب", "LOC", 1),
        "hama": ("حماة", "LOC", 1),
        "fomin": ("ألكسندر فومين", "OFFICIAL", 1),
        "us1": ("الولايات المتحدة", "LOC", 1),
        "syria3": ("سوريا", "LOC", 3),
        "un": ("الأمم المتحدة", "AGENCY", 1),
        "us2": ("الولايات المتحدة", "LOC", 2),
        "ksa": ("السعودية", "LOC", 1),
    },
    "relations": [
        ("raf", "is", "ATTACKED", "right"),
        ("mod", "fomin", "MEMBER_OF", "left"),  # arrow drawn from the ministry back to the official
        ("idlib", "syria2", "LOCATED_IN", "right"),
        ("latakia", "syria2", "LOCATED_IN", "right"),
    ],
}
T3 = {
    "spans": {
        "sec1": ("قوات الأمن السعودية", "ARMED_GROUP", 1),
        "jeddah1": ("جدة", "LOC", 1),
        "medina1": ("المدينة", "LOC", 1),
        "isis": ("داعش", "ARMED_GROUP", 1),
        "riyadh": ("الرياض", "AGENCY", 1),
        "mahamid": ("المحاميد", "LOC", 1),
        "harazat": ("الحرازات", "LOC", 1),
        "sec2": ("قوات الأمن", "ARMED_GROUP", 2),
        "emergency": ("قوات الطوارئ", "ARMED_GROUP", 1),
        "jeddah2": ("جدة", "LOC", 2),
        "sec3": ("قوات الأمن", "ARMED_GROUP", 3),
        "rabwa": ("الربوة", "LOC", 1),
        "medina2": ("المدينة المنورة", "LOC", 1),
        "moi": ("وزارة الداخلية السعودية", "AGENCY", 1),
    },
    "relations": [
        ("isis", "sec1", "FIGHTS", "bi"),  # symmetric, drawn from the later mention
        ("mahamid", "jeddah2", "LOCATED_IN", "right"),
        ("rabwa", "medina2", "LOCATED_IN", "right"),
    ],
}
T4 = {
    "spans": {
        "pentagon": ("البنتاغون", "AGENCY", 1),
        "isis": ("داعش", "ARMED_GROUP", 1),
        "nangarhar": ("ننغرهار", "LOC", 1),
        "afghanistan": ("أفغانستان", "LOC", 1),
        "us": ("الولايات المتحدة", "LOC", 1),
        "pentagon2": ("البنتاغون", "AGENCY", 2),
        "stump": ("آدام ستامب", "OFFICIAL", 1),
        "usforces": ("القوات الأمريكية", "ARMED_GROUP", 1),
    },
    "relations": [
        ("isis", "nangarhar", "BASED_IN", "right"),
        ("nangarhar", "afghanistan", "LOCATED_IN", "right"),
        ("stump", "pentagon2", "MEMBER_OF", "right"),
        ("us", "isis", "ATTACKED", "right"),
    ],
}
# What a model proposed for T4 (a span with its head word, a missed official) and for T5.
T4_PREDICTED = {
    "spans": {
        "pentagon": ("البنتاغون", "AGENCY", 1, 0.97),
        "isis": ("داعش", "ARMED_GROUP", 1, 0.99),
        "nangarhar": ("ولاية ننغرهار", "LOC", 1, 0.62),
        "afghanistan": ("أفغانستان", "LOC", 1, 0.98),
        "us": ("الولايات المتحدة", "LOC", 1, 0.95),
        "usforces": ("القوات الأمريكية", "ARMED_GROUP", 1, 0.88),
    },
    "relations": [("nangarhar", "afghanistan", "LOCATED_IN", 0.81), ("us", "isis", "ATTACKED", 0.57)],
}
T5_PREDICTED = {
    "spans": {
        "ina": ("وكالة أنباء الإعلام العراقي", "AGENCY", 1, 0.74),
        "isis": ("داعش", "ARMED_GROUP", 1, 0.99),
        "salah": ("صلاح الدين", "LOC", 1, 0.93),
        "pmf": ("الحشد الشعبي", "ARMED_GROUP", 1, 0.96),
        "isis2": ("داعش", "ARMED_GROUP", 2, 0.98),
        "makhoul": ("جبال مكحول", "LOC", 1, 0.85),
    },
    "relations": [("pmf", "isis2", "FIGHTS", 0.71), ("makhoul", "salah", "LOCATED_IN", 0.64)],
}


def result_for(text: str, spec: dict) -> list[dict]:
    regions = {key: span(text, needle, label, occurrence=n) for key, (needle, label, n) in spec["spans"].items()}
    return list(regions.values()) + [relation(regions[a], regions[b], label, direction=d) for a, b, label, d in spec["relations"]]


def predicted_article(record: dict, spec: dict) -> Article:
    text, entities = record["text"], {}
    for key, (needle, label, n, score) in spec["spans"].items():
        region = span(text, needle, label, occurrence=n)
        value = region["value"]
        entities[key] = Entity(region["id"], value["start"], value["end"], label, needle, score)
    relations = [Relation(entities[a].id, entities[b].id, label, score) for a, b, label, score in spec["relations"]]
    return Article(record["id"], text, list(entities.values()), relations, meta=task_fields(record))


def task_fields(record: dict) -> dict:
    return {"source": ANT, "url": record["url"], "date": record["date"], "license": LICENSE, "title": record["title"]}


def build(out: Path) -> None:
    schema = load_schema()
    with LabelStudioServer() as server:
        log.info("Label Studio up in %.1f s (fresh data dir, migrations included)", server.startup_seconds)
        ls = server.client()
        project_id = create_project(ls, schema, "rasid fixtures", "Arabic news, entities and relations (rasid schema v1)")
        check_project(ls, project_id, schema)

        plain = [{"data": {"text": r["text"], "id": r["id"], **task_fields(r)}} for r in ARTICLES[:3]]
        predicted = [predicted_article(ARTICLES[3], T4_PREDICTED), predicted_article(ARTICLES[4], T5_PREDICTED)]
        tasks = plain + articles_to_tasks(predicted, schema, as_predictions=True, model_version="rasid-fixture-0.1")
        task_ids = ls.projects.import_tasks(id=project_id, request=tasks, return_task_ids=True).task_ids
        t1, t2, t3, t4, _t5 = task_ids

        def annotate(task_id: int, text: str, spec: dict | None, cancelled: bool = False) -> None:
            result = [] if spec is None else result_for(text, spec)
            ls.annotations.create(id=task_id, result=result, was_cancelled=cancelled, lead_time=42.0)
            time.sleep(1.1)  # distinct created_at/updated_at, as between two sittings

        annotate(t1, ARTICLES[0]["text"], T1_FIRST)
        annotate(t2, ARTICLES[1]["text"], T2)
        annotate(t3, ARTICLES[2]["text"], T3)
        annotate(t4, ARTICLES[3]["text"], T4)
        annotate(t2, ARTICLES[1]["text"], None, cancelled=True)  # a later skip must not win
        annotate(t1, ARTICLES[0]["text"], T1_LATER)  # the second, complete pass wins

        out.mkdir(parents=True, exist_ok=True)
        (out / "export.json").write_bytes(export_tasks(ls, project_id))
        (out / "export-quick.json").write_bytes(export_quick(ls, project_id, "JSON"))
        (out / "export-min.json").write_bytes(export_quick(ls, project_id, "JSON_MIN"))
        (out / "project-config.xml").write_text(ls.projects.get(id=project_id).label_config, encoding="utf-8")
    log.info("wrote %s/export.json, export-quick.json, export-min.json, project-config.xml", out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/labelstudio"), help="folder for the export files")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    build(args.out)


if __name__ == "__main__":
    main()
