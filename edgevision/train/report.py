"""What a finished run reports: test metrics, the confusion matrix and the training curves."""

from __future__ import annotations

import numpy as np

from edgevision import atomic


def classification_metrics(labels, predictions, class_names) -> dict:
    """test_accuracy, per-class precision/recall/support and the confusion matrix (rows: true class)."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    n = len(class_names)
    confusion = np.zeros((n, n), np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    per_class = {}
    for i, name in enumerate(class_names):
        predicted, actual, hits = confusion[:, i].sum(), confusion[i].sum(), confusion[i, i]
        per_class[name] = {
            "precision": round(float(hits / predicted), 6) if predicted else 0.0,
            "recall": round(float(hits / actual), 6) if actual else 0.0,
            "support": int(actual),
        }
    accuracy = float(np.trace(confusion) / max(confusion.sum(), 1))
    return {"test_accuracy": round(accuracy, 6), "per_class": per_class, "confusion_matrix": confusion.tolist()}


def _save_figure(figure, path):
    with atomic.atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, bbox_inches="tight", format="png")


def plot_confusion(confusion, class_names, path, title="Confusion matrix (test)"):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    confusion = np.asarray(confusion)
    size = max(4.0, 0.5 * len(class_names) + 2)
    figure, ax = plt.subplots(figsize=(size, size))
    ax.imshow(confusion, cmap="Blues")
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = confusion.max() / 2 if confusion.size else 0
    for (i, j), count in np.ndenumerate(confusion):
        ax.text(j, i, str(count), ha="center", va="center", color="white" if count > threshold else "black")
    _save_figure(figure, path)
    plt.close(figure)


def plot_history(history: dict, path):
    """Loss and accuracy per epoch, training and validation, with the fine-tuning start marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
        for prefix, style in (("", "-o"), ("val_", "--s")):
            values = history.get(prefix + key)
            if values:
                ax.plot(epochs, values, style, label=("validation " if prefix else "training ") + key)
        phases = history.get("phase", [])
        if 2 in phases and 1 in phases:
            ax.axvline(phases.index(2) + 0.5, color="gray", linestyle=":", label="fine-tuning starts")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    _save_figure(figure, path)
    plt.close(figure)
