"""ROC and PR curves as PNGs, drawn with numpy and Pillow (matplotlib is not installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLOURS = [(200, 60, 40), (30, 110, 200), (40, 150, 60), (150, 80, 170)]


def roc_points(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="mergesort")
    truth = labels[order].astype(bool)
    tpr = np.concatenate(([0.0], np.cumsum(truth) / max(truth.sum(), 1)))
    fpr = np.concatenate(([0.0], np.cumsum(~truth) / max((~truth).sum(), 1)))
    return fpr, tpr


def pr_points(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="mergesort")
    truth = labels[order].astype(bool)
    tp = np.cumsum(truth)
    recall = tp / max(truth.sum(), 1)
    precision = tp / np.arange(1, truth.size + 1)
    return np.concatenate(([0.0], recall)), np.concatenate(([1.0], precision))


def draw_curves(
    path: Path,
    title: str,
    curves: list[tuple[str, np.ndarray, np.ndarray]],
    x_label: str,
    y_label: str,
    size: int = 420,
) -> None:
    margin = 48
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    span = size - 2 * margin

    def at(x: float, y: float) -> tuple[float, float]:
        return margin + x * span, size - margin - y * span

    for tick in np.linspace(0, 1, 6):
        draw.line([at(tick, 0), at(tick, 1)], fill=(230, 230, 230))
        draw.line([at(0, tick), at(1, tick)], fill=(230, 230, 230))
        draw.text((at(tick, 0)[0] - 8, size - margin + 6), f"{tick:.1f}", fill="black")
        draw.text((6, at(0, tick)[1] - 6), f"{tick:.1f}", fill="black")
    draw.rectangle([at(0, 1), at(1, 0)], outline="black")
    draw.text((margin, 12), title, fill="black")
    draw.text((size // 2 - 20, size - 18), x_label, fill="black")
    draw.text((4, 26), y_label, fill="black")
    for i, (name, xs, ys) in enumerate(curves):
        colour = COLOURS[i % len(COLOURS)]
        draw.line([at(float(x), float(y)) for x, y in zip(xs, ys, strict=True)], fill=colour, width=2)
        draw.text((size - margin - 150, size - margin - 18 * (len(curves) - i)), name, fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
