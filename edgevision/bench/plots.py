"""The report's plots as PNG bytes (matplotlib, Agg backend, imported only when plotting).

matplotlib is not part of the runtime install: `available()` says whether it imports, and
`install_hint()` is what to tell the user when it does not.
"""

from __future__ import annotations

import io
from pathlib import Path

from edgevision.bench.report import label, ok_rows, pareto_front


def install_hint() -> str:
    """The command that gets matplotlib on this platform (32-bit ARM: the OS package, no wheel)."""
    from edgevision.bench.doctor import matplotlib_install_advice, platform_facts

    command, note = matplotlib_install_advice(platform_facts())
    return f"{command}  ({note})"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
MARKERS = {1: "o", 2: "s", 3: "^", 4: "D", 6: "v", 8: "P"}
DEVICE_MARKERS = ("o", "s", "^", "D", "v", "P")


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def _model_colors(rows) -> dict:
    models = list(dict.fromkeys(Path(r["model"]).name for r in rows))
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}


def _devices(rows) -> list:
    return list(dict.fromkeys(r.get("device") for r in rows))


def _name(row, multi_device: bool) -> str:
    return f"{label(row)} · {row['device']}" if multi_device and row.get("device") else label(row)


def latency_distribution(results) -> bytes | None:
    """Horizontal box plot of each row's steady-state latency samples, fastest median on top."""
    rows = sorted((r for r in ok_rows(results) if r.get("samples_ms")), key=lambda r: r["latency_ms"]["p50"],
                  reverse=True)
    if not rows:
        return None
    plt = _pyplot()
    colors = _model_colors(rows)
    multi = len(_devices(rows)) > 1
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(rows) + 1.6))
    box = ax.boxplot([r["samples_ms"] for r in rows], vert=False, patch_artist=True, widths=0.6,
                     flierprops={"marker": ".", "markersize": 3, "alpha": 0.5}, medianprops={"color": "black"})
    for patch, row in zip(box["boxes"], rows, strict=True):
        patch.set_facecolor(colors[Path(row["model"]).name])
        patch.set_alpha(0.6)
    ax.set_yticks(range(1, len(rows) + 1), [_name(r, multi) for r in rows])
    ax.set_xlabel("latency per invoke (ms), warm-up excluded")
    ax.set_title("Latency distribution (box: p25–p75, line: median, whiskers: 1.5 IQR)")
    if max(r["latency_ms"]["max"] for r in rows) > 20 * min(r["latency_ms"]["min"] for r in rows):
        _log_scale(ax, "x")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _scatter(ax, rows, xy):
    """Colour = model file; marker = thread count (one device) or device (several, thread count written)."""
    colors, devices = _model_colors(rows), _devices(rows)
    multi = len(devices) > 1
    for (model, device), group in _groups(rows).items():
        group.sort(key=lambda r: r["threads"])
        xs, ys = zip(*(xy(r) for r in group), strict=True)
        ax.plot(xs, ys, color=colors[model], linewidth=0.8, alpha=0.5)
        for r, x, y in zip(group, xs, ys, strict=True):
            marker = DEVICE_MARKERS[devices.index(device) % len(DEVICE_MARKERS)] if multi else \
                MARKERS.get(r["threads"], "o")
            ax.scatter(x, y, s=60, color=colors[model], marker=marker, edgecolors="black", linewidths=0.5,
                       zorder=3)
            if multi:
                ax.annotate(f"{r['threads']}t", (x, y), xytext=(5, 3), textcoords="offset points", fontsize=7)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=c, markeredgecolor="black", label=m)
               for m, c in colors.items()]
    if multi:
        handles += [Line2D([], [], marker=DEVICE_MARKERS[i % len(DEVICE_MARKERS)], linestyle="", color="gray",
                           markeredgecolor="black", label=str(d)) for i, d in enumerate(devices)]
    else:
        handles += [Line2D([], [], marker=MARKERS.get(t, "o"), linestyle="", color="gray", markeredgecolor="black",
                           label=f"{t} thread{'s' if t != 1 else ''}") for t in sorted({r["threads"] for r in rows})]
    return handles


def _wide(rows) -> bool:
    """Latencies spanning more than 20x (several devices, tiny and large models) read better on a log axis."""
    p50 = [r["latency_ms"]["p50"] for r in rows]
    return max(p50) > 20 * min(p50)


def _log_scale(ax, which):
    """Log axis labelled 2, 5, 10, 20 ms rather than 2×10⁰ (devices differ by 10× in latency)."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    getattr(ax, f"set_{which}scale")("log")
    axis = getattr(ax, f"{which}axis")
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _groups(rows) -> dict:
    groups = {}
    for r in rows:
        groups.setdefault((Path(r["model"]).name, r.get("device")), []).append(r)
    return groups


def _legend(ax, handles):
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def latency_vs_size(results) -> bytes | None:
    rows = [r for r in ok_rows(results) if r.get("size_bytes")]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 5))
    handles = _scatter(ax, rows, lambda r: (r["size_bytes"] / 1e6, r["latency_ms"]["p50"]))
    ax.set_xlabel("file size (MB)")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("Latency against model size")
    if _wide(rows):
        _log_scale(ax, "y")
    ax.grid(alpha=0.3)
    _legend(ax, handles)
    return _png(fig)


def accuracy_vs_latency(results) -> bytes | None:
    """Accuracy against p50 latency; the Pareto front (nothing faster is as accurate) joined and ringed."""
    rows = [r for r in ok_rows(results) if r.get("accuracy") is not None]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 5))
    handles = _scatter(ax, rows, lambda r: (r["latency_ms"]["p50"], r["accuracy"]))
    from matplotlib.lines import Line2D

    for device in _devices(rows):
        front = pareto_front([r for r in rows if r.get("device") == device])
        xs, ys = [r["latency_ms"]["p50"] for r in front], [r["accuracy"] for r in front]
        ax.step(xs, ys, where="post", color="black", linestyle="--", linewidth=1, alpha=0.7, zorder=2)
        ax.scatter(xs, ys, s=260, facecolors="none", edgecolors="black", linewidths=1.3, zorder=4)
    handles.append(Line2D([], [], marker="o", markersize=12, markerfacecolor="none", markeredgecolor="black",
                          linestyle="--", color="black", label="Pareto front"))
    ax.set_xlabel("p50 latency (ms)")
    ax.set_ylabel("accuracy (top-1)")
    ax.set_title("Accuracy against latency (up and left is better)")
    if _wide(rows):
        _log_scale(ax, "x")
    ax.grid(alpha=0.3)
    _legend(ax, handles)
    return _png(fig)


def render_all(results) -> dict:
    """{file name: PNG bytes} for every plot the data allows."""
    plots = {
        "latency_distribution.png": latency_distribution(results),
        "latency_vs_size.png": latency_vs_size(results),
        "accuracy_vs_latency.png": accuracy_vs_latency(results),
    }
    return {name: png for name, png in plots.items() if png}
