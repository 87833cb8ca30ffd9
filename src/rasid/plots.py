"""PNG plots beside every evaluation report: per-label F1, entity errors, and confusion matrices.

Only the report dict is needed; with the gold and predicted articles as well, an entity label
confusion is drawn too (the report itself carries only the relation confusion).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

__all__ = ["report_plots", "entity_error_counts"]

BLUE, GREY = "#2e86de", "#b2bec3"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def entity_error_counts(report: dict, gold=None, pred=None) -> dict[str, int]:
    """Exact-span entity outcomes by kind.

    From the articles when given (exact): gold entities found or missed outright, predictions of
    the wrong type (same span) or boundary (overlapping), or touching no gold entity. From the
    report alone, the spurious count is recovered only where precision is non-zero, else omitted.
    """
    if gold is not None and pred is not None:
        from rasid.article_diff import MISSED, OK, SPURIOUS, WRONG_BOUNDARY, WRONG_TYPE, entity_statuses

        by_id = {a.id: a for a in pred}
        c: Counter = Counter()
        for g in gold:
            if g.id in by_id:
                gs, ps = entity_statuses(g, by_id[g.id])
                c.update("gold_" + s for s in gs.values())
                c.update("pred_" + s for s in ps.values())
        return {"correct": c["gold_" + OK], "wrong type": c["pred_" + WRONG_TYPE], "wrong boundary": c["pred_" + WRONG_BOUNDARY],
                "spurious (touches no gold)": c["pred_" + SPURIOUS], "missed (touches no prediction)": c["gold_" + MISSED]}
    section = report.get("entities_exact", {})
    errors = section.get("errors", {})
    wt, wb = errors.get("wrong_type", 0), errors.get("wrong_boundary", 0)
    tp = fn = fp = 0
    fp_known = True
    for row in section.get("per_label", {}).values():
        support = row.get("support", 0)
        t = round(row["recall"] * support)
        tp, fn = tp + t, fn + support - t
        if row["precision"] > 0:
            fp += round(t / row["precision"]) - t
        elif t == 0:
            fp_known = False  # precision 0 with nothing right: the report cannot tell how many were predicted
    out = {"correct": tp, "wrong type": wt, "wrong boundary": wb}
    if fp_known:
        out["spurious (touches no gold)"] = max(fp - wt - wb, 0)
    out["false negatives, all"] = fn
    return out


def _f1_bars(ax, report: dict, key: str, title: str, also: str | None = None) -> None:
    section = report.get(key) or {}
    per_label = section.get("per_label", {})
    labels = list(per_label)
    if not labels or not any(row.get("support", 0) for row in per_label.values()):
        ax.text(0.5, 0.5, "nothing to score\n(no gold items of this kind)", ha="center", va="center", transform=ax.transAxes, color="#666")
        ax.set_title(title)
        ax.set_axis_off()
        return
    ys = range(len(labels))
    height = 0.38 if also else 0.7
    f1 = [per_label[k]["f1"] for k in labels]
    ax.barh([y - (height / 2 if also else 0) for y in ys], f1, height=height, color=BLUE, label="seqeval, words")
    if also:
        other = report.get(also, {}).get("per_label", {})
        ax.barh([y + height / 2 for y in ys], [other.get(k, {}).get("f1", 0.0) for k in labels], height=height, color=GREY,
                label="exact spans")
        ax.legend(loc="lower right", fontsize=7)
    ax.set_yticks(list(ys), [f"{k} (n={per_label[k].get('support', 0)})" for k in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_title(f"{title} (micro F1 {section['micro']['f1']:.3f})", fontsize=10)
    for y, v in zip(ys, f1, strict=True):
        ax.text(min(v + 0.01, 0.9), y - (height / 2 if also else 0), f"{v:.2f}", va="center", fontsize=7)


def _matrix(plt, labels: Sequence[str], rows: list[list[int]], title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 + 0.55 * len(labels)), max(4.0, 1.0 + 0.5 * len(labels))))
    ax.imshow(rows, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    top = max((v for row in rows for v in row), default=0)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > top / 2 else "black")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def report_plots(report: dict, out_dir: Path, stem: str = "report", gold=None, pred=None) -> list[Path]:
    """Write `<stem>-f1.png`, `<stem>-entity-errors.png` and the confusion matrices that have data; returns the paths.

    `gold` and `pred`: the articles scored (lists matched by id), for the entity confusion matrix.
    """
    plt = _pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    _f1_bars(axes[0], report, "entities", "Entities, seqeval strict", also="entities_exact")
    _f1_bars(axes[1], report, "relations", "Relations, strict")
    fig.tight_layout()
    path = out_dir / f"{stem}-f1.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    if "entities_exact" in report:
        counts = entity_error_counts(report, gold, pred)
        fig, ax = plt.subplots(figsize=(6.5, 2.8))
        names = list(counts)
        palette = {"correct": "#27ae60", "wrong type": "#d35400", "wrong boundary": "#f39c12", "spurious (touches no gold)": "#c0392b"}
        ax.barh(names, [counts[n] for n in names], color=[palette.get(n, "#7f8c8d") for n in names])
        ax.invert_yaxis()
        for y, n in enumerate(names):
            ax.text(counts[n], y, f" {counts[n]}", va="center", fontsize=8)
        ax.set_title("Entities by exact span: what went wrong", fontsize=10)
        ax.tick_params(labelsize=8)
        fig.tight_layout()
        path = out_dir / f"{stem}-entity-errors.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    if gold is not None and pred is not None:
        from rasid.article_diff import entity_confusion

        by_id = {a.id: a for a in pred}
        labels = list(report.get("entities", {}).get("per_label", {}))
        conf = entity_confusion([(g, by_id[g.id]) for g in gold if g.id in by_id], labels)
        if any(any(row) for row in conf["rows_gold_cols_pred"]):
            written.append(_matrix(plt, conf["labels"], conf["rows_gold_cols_pred"], "Entity labels (overlapping spans; O = none)",
                                   out_dir / f"{stem}-entity-confusion.png"))

    conf = report.get("relations", {}).get("confusion")
    if conf and any(any(row) for row in conf["rows_gold_cols_pred"]):
        written.append(_matrix(plt, conf["labels"], conf["rows_gold_cols_pred"], "Relation confusion (entity pairs)",
                               out_dir / f"{stem}-relation-confusion.png"))
    return written
