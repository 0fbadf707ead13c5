"""The class report's score histogram, as inline SVG geometry computed here."""
import math

from grader.report.views import Gridline, Histogram, HistogramBin, pct, points


# Histogram geometry (SVG user units).
HIST_WIDTH = 640
HIST_HEIGHT = 300
HIST_LEFT = 36  # room for the y-axis labels
HIST_TOP = 42  # room for the mean's label and the count above the tallest bar
HIST_BOTTOM = 40  # room for the bin labels and the axis title


HIST_MAX_UNIT_BINS = 21  # one bin per point up to a 20-point assignment; 10% bins beyond


def build_histogram(subs, max_score):
    """The score distribution: one bin per point when scores are whole points out of at most 20,
    otherwise ten bins of 10% (the last one includes 100%)."""
    scores = [float(s.score) for s in subs]
    unit = (max_score > 0 and float(max_score).is_integer() and max_score < HIST_MAX_UNIT_BINS
            and all(float(x).is_integer() and 0 <= x <= max_score for x in scores))
    if unit:
        edges = list(range(int(max_score) + 1))
        counts = [0] * len(edges)
        for x in scores:
            counts[int(x)] += 1
        labels = [str(e) for e in edges]
        axis_title = f"score (out of {points(max_score)})"
        mean_pos = (sum(scores) / len(scores) + 0.5) / len(edges) if scores else None
        mean_text = points(round(sum(scores) / len(scores), 1)) if scores else ""
    else:
        counts = [0] * 10
        for s in subs:
            counts[min(9, max(0, int(s.percent // 10)))] += 1
        labels = [f"{10 * i}\u2013{10 * i + 10}" for i in range(10)]
        axis_title = "score (%)"
        mean_pos = (sum(s.percent for s in subs) / len(subs) / 100.0) if subs else None
        mean_text = pct(sum(s.percent for s in subs) / len(subs)) if subs else ""
    nbins = len(counts)
    plot_w = HIST_WIDTH - HIST_LEFT - 8
    plot_h = HIST_HEIGHT - HIST_TOP - HIST_BOTTOM
    baseline = HIST_TOP + plot_h
    top_count = max(counts) if counts else 0
    scale_max = max(1, top_count)
    step = plot_w / nbins
    gap = min(6.0, step * 0.15)
    bins = []
    for i, (label, count) in enumerate(zip(labels, counts)):
        h = plot_h * count / scale_max
        x = HIST_LEFT + i * step + gap / 2
        bins.append(HistogramBin(label, count, round(x, 2), round(baseline - h, 2),
                                 round(step - gap, 2), round(h, 2), round(x + (step - gap) / 2, 2),
                                 round(baseline - h - 5, 2), i == nbins - 1))
    gridlines = []
    for value in _ticks(scale_max):
        y = round(baseline - plot_h * value / scale_max, 2)
        gridlines.append(Gridline(y, y + 4, str(value)))
    mean_x = round(HIST_LEFT + plot_w * mean_pos, 2) if mean_pos is not None else None
    return Histogram(
        bins=tuple(bins), width=HIST_WIDTH, height=HIST_HEIGHT, left=HIST_LEFT,
        right=HIST_LEFT + plot_w, baseline=baseline, label_y=baseline + 15,
        tick_x=HIST_LEFT - 6, title_x=round(HIST_LEFT + plot_w / 2, 2),
        axis_title=axis_title, axis_title_y=baseline + 33, gridlines=tuple(gridlines),
        mean_x=mean_x, mean_top=HIST_TOP - 24, mean_label_y=HIST_TOP - 28,
        mean_label=f"mean {mean_text}", total=sum(counts),
    )


def _ticks(top):
    """A few round gridline values from 0 to ``top``."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if top / step <= 5:
            break
    else:
        step = 10 ** math.ceil(math.log10(top / 5))
    return list(range(0, top + 1, step))
