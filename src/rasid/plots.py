"""PNG plots beside every evaluation report: per-label F1 and the relation confusion matrix."""

from __future__ import annotations

from pathlib import Path

__all__ = ["report_plots"]


def _bars(ax, section: dict, title: str) -> None:
    labels = list(section.get("per_label", {}))
    f1 = [section["per_label"][k]["f1"] for k in labels]
    ax.barh(labels, f1, color="#2e86de")
    ax.set_xlim(0, 1)
    ax.set_title(f"{title} (micro F1 {section['micro']['f1']:.3f})")
    for y, v in enumerate(f1):
        ax.text(min(v + 0.01, 0.9), y, f"{v:.2f}", va="center", fontsize=8)


def report_plots(report: dict, out_dir: Path, stem: str = "report") -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    _bars(axes[0], report["entities"], "Entities, seqeval strict")
    _bars(axes[1], report["relations"], "Relations, strict")
    fig.tight_layout()
    path = out_dir / f"{stem}-f1.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    conf = report["relations"].get("confusion")
    if conf and any(any(row) for row in conf["rows_gold_cols_pred"]):
        labels, rows = conf["labels"], conf["rows_gold_cols_pred"]
        fig, ax = plt.subplots(figsize=(6.5, 5.5))
        ax.imshow(rows, cmap="Blues")
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if v:
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
        ax.set_title("Relation confusion (entity pairs)")
        fig.tight_layout()
        path = out_dir / f"{stem}-relation-confusion.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
