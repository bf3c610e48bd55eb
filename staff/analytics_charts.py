"""The analytics report's charts as PNG (matplotlib's Agg backend, no display), with Chinese labels
drawn in WenQuanYi Zen Hei (Debian's fonts-wqy-zenhei). Figures are built with the object API,
not pyplot; render() may be called from worker threads and draws one chart at a time, as
matplotlib's font cache is shared. matplotlib is imported on the first chart, so a gateway whose
reports nobody opens does not carry it."""
from __future__ import annotations

import io
import threading
from pathlib import Path

FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FONT_NAME = "WenQuanYi Zen Hei"
COLOURS = ["#1f5fa8", "#e07b24", "#2e9b5f", "#c23b3b", "#7a5cb8", "#8c6d31"]
LABEL_CHARS = 18          # longer bar labels are cut so the bars keep their room
_drawing = threading.Lock()


class FontMissing(RuntimeError):
    pass


def load_font() -> str:
    """Registers the CJK font with matplotlib; without it every Chinese label would be boxes."""
    import matplotlib
    from matplotlib import font_manager

    matplotlib.use("Agg")
    if not FONT_FILE.exists():
        raise FontMissing(f"{FONT_FILE} not found: install the Debian package fonts-wqy-zenhei")
    if FONT_NAME not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(FONT_FILE))
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [FONT_NAME, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False       # the font has no U+2212 minus
    for key in ("font.weight", "axes.labelweight", "axes.titleweight", "figure.titleweight"):
        matplotlib.rcParams[key] = "medium"                  # the font's only weight (500)
    return FONT_NAME


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _figure(title: str, subtitle: str, height: float = 4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    load_font()
    fig = Figure(figsize=(8, height), dpi=110, layout="constrained")    # room for long Chinese labels
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize=15)
    ax = fig.add_subplot()
    ax.set_title(subtitle, fontsize=9, color="#555555")
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _counts(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _empty(ax) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, "本期暂无数据", ha="center", va="center", fontsize=16, color="#888888", transform=ax.transAxes)


def _png(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white")
    return out.getvalue()


def _barh(title: str, subtitle: str, labels: list[str], values: list[float], xlabel: str, colour: str) -> bytes:
    fig, ax = _figure(title, subtitle, height=max(3.6, 1.4 + 0.4 * len(labels)))
    if not values or not any(values):
        _empty(ax)
        return _png(fig)
    rows = list(range(len(labels)))[::-1]
    bars = ax.barh(rows, values, color=colour)
    ax.set_yticks(rows, [_short(l) for l in labels])
    ax.bar_label(bars, padding=3, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.margins(x=0.12)
    _counts(ax.xaxis)
    return _png(fig)


def trend(report: dict) -> bytes:
    """Conversations as bars, users, handoffs and unanswered turns as lines over them."""
    rows = report["trend"]
    fig, ax = _figure("会话量趋势", report["period"]["label"])
    lines = [("users", "用户数"), ("handoffs", "转人工"), ("unanswered", "未能解答")]
    if not any(r[k] for r in rows for k in ("conversations", *dict(lines))):
        _empty(ax)
        return _png(fig)
    x = list(range(len(rows)))
    ax.bar(x, [r["conversations"] for r in rows], color="#b9cde6", label="会话数")
    for (key, name), colour in zip(lines, COLOURS):
        ax.plot(x, [r[key] for r in rows], marker="o", markersize=3, color=colour, label=name)
    step = max(1, len(rows) // 12)
    ax.set_xticks(x[::step], [r["label"] for r in rows][::step], fontsize=8, rotation=30 if len(rows) > 12 else 0)
    ax.set_ylabel("数量")
    ax.set_ylim(bottom=0)
    _counts(ax.yaxis)
    ax.legend(loc="best", fontsize=9, frameon=False)
    return _png(fig)


def channels(report: dict) -> bytes:
    rows = report["channels"]
    return _barh("渠道分布", f"{report['period']['label']}　按会话数", [r["name"] for r in rows],
                 [r["conversations"] for r in rows], "会话数", COLOURS[0])


def services(report: dict) -> bytes:
    rows = report["services"][:10]
    return _barh("热门事项", f"{report['period']['label']}　涉及该事项的会话数", [r["service_name"] for r in rows],
                 [r["conversations"] for r in rows], "会话数", COLOURS[1])


def intents(report: dict) -> bytes:
    rows = report["intents"][:10]
    return _barh("诉求类型分布", f"{report['period']['label']}　按市民消息的识别意图", [r["name"] for r in rows],
                 [r["count"] for r in rows], "消息数", COLOURS[2])


def regions(report: dict) -> bytes:
    rows = report["regions"][:10]
    return _barh("用户区域分布", f"{report['period']['label']}　仅统计市民提及或选择的区", [r["district"] for r in rows],
                 [r["conversations"] for r in rows], "会话数", COLOURS[4])


def hot_questions(report: dict) -> bytes:
    rows = report["hot_questions"][:10]
    return _barh("大家都在问", f"{report['period']['label']}　按已解答提问次数", [r["question"] for r in rows],
                 [r["count"] for r in rows], "提问次数", COLOURS[3])


def satisfaction(report: dict) -> bytes:
    s = report["summary"]
    rows = report["ratings"]["distribution"]
    fig, ax = _figure("满意度评价", f"{report['period']['label']}　共{s['ratings']}次评价，平均{s['avg_rating']}分")
    if not s["ratings"]:
        _empty(ax)
        return _png(fig)
    bars = ax.bar([f"{r['score']}分" for r in rows], [r["count"] for r in rows],
                  color=["#c23b3b", "#e07b24", "#d9b526", "#6fb34a", "#2e9b5f"])
    ax.bar_label(bars, padding=2, fontsize=9)
    ax.set_ylabel("评价次数")
    ax.margins(y=0.15)
    _counts(ax.yaxis)
    return _png(fig)


def handoff_waits(report: dict) -> bytes:
    s = report["summary"]
    rows = report["handoffs"]["waits"]
    fig, ax = _figure("转人工等待时间", f"{report['period']['label']}　转人工{s['handoffs']}次，"
                                     f"接入{s['handoffs_claimed']}次，放弃{s['handoffs_abandoned']}次，"
                                     f"平均等待{s['avg_wait_s']:.0f}秒")
    if not any(r["count"] for r in rows):
        _empty(ax)
        return _png(fig)
    bars = ax.bar([r["bucket"] for r in rows], [r["count"] for r in rows], color=COLOURS[5])
    ax.bar_label(bars, padding=2, fontsize=9)
    ax.set_ylabel("次数")
    ax.margins(y=0.15)
    _counts(ax.yaxis)
    return _png(fig)


CHARTS = {"trend": trend, "channels": channels, "services": services, "intents": intents, "regions": regions,
          "hot_questions": hot_questions, "satisfaction": satisfaction, "handoff_waits": handoff_waits}
TITLES = {"trend": "会话量趋势", "channels": "渠道分布", "services": "热门事项", "intents": "诉求类型分布",
          "regions": "用户区域分布", "hot_questions": "大家都在问", "satisfaction": "满意度评价",
          "handoff_waits": "转人工等待时间"}


def render(name: str, report: dict) -> bytes:
    """One chart of the report as PNG bytes; KeyError for an unknown chart."""
    draw = CHARTS[name]
    with _drawing:
        return draw(report)
