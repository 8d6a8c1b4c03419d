"""The daily digest's text: yesterday of one direction, for its team chat in Telegram.

Pure: from the day's summed report counters (`reports.Totals`), the missed calls still
waiting and the complaints marked that day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from helpdesk.reports import CLOCKS, Totals, percent, percentile, wilson_lower

DIGEST_LIMIT = 3900  # Telegram takes 4096 characters a message
DIGEST_TEXTS = {
    "ru": {
        "title": "Сводка {direction} за {day}",
        "opened": "Обращений: {n}",
        "frt": "Первый ответ, медиана: {value}",
        "breaches": "Просрочено обещаний: {n}",
        "waiting": "Пропущенные звонки без перезвона: {n}",
        "complaints": "Жалобы: {n}",
        "gaps": "Решено без статьи в базе знаний: {n}",
        "csat": "Оценки: {n}, хороших {good} %, средняя {average}",
        "best": "Лучшая оценка: {agent} ({good} из {n})",
        "none": "нет",
        "more": "… и ещё {n}",
    },
    "en": {
        "title": "{direction} digest for {day}",
        "opened": "Tickets: {n}",
        "frt": "First response, median: {value}",
        "breaches": "Promises breached: {n}",
        "waiting": "Missed calls not yet called back: {n}",
        "complaints": "Complaints: {n}",
        "gaps": "Resolved with no knowledge base article: {n}",
        "csat": "Ratings: {n}, {good} % good, average {average}",
        "best": "Best rated: {agent} ({good} of {n})",
        "none": "none",
        "more": "… and {n} more",
    },
}


def duration_text(seconds: int | None, none: str) -> str:
    if seconds is None:
        return none
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"≤ {hours} h {minutes:02d} min" if hours else f"≤ {minutes} min"


def best_rated(total: Totals) -> tuple[str, int, int] | None:
    """The agent with the highest Wilson lower bound of good ratings (then the most)."""
    rated = [
        (agent, int(c.get("csat#good", 0)), int(c.get("csat#count", 0)))
        for agent, c in total.agents.items()
        if c.get("csat#count")
    ]
    if not rated:
        return None
    return max(rated, key=lambda entry: (wilson_lower(entry[1], entry[2]), entry[2], entry[0]))


def text(
    total: Totals,
    name: str,
    day: date,
    language: str,
    waiting: int,
    complaints: Sequence[Mapping[str, Any]],
) -> str:
    """Yesterday in one message for the direction's team chat: tickets, first response,
    breaches, missed calls waiting, knowledge base gaps, complaints with their texts,
    ratings, the best rated."""
    texts = DIGEST_TEXTS.get(language, DIGEST_TEXTS["en"])
    breaches = sum(total.get(f"breached#{clock}") for clock in CLOCKS)
    ratings = total.get("csat#count")
    lines = [
        texts["title"].format(direction=name, day=day.isoformat()),
        "",
        texts["opened"].format(n=total.get("opened")),
        texts["frt"].format(
            value=duration_text(percentile(total.histogram("frt#bucket#"), 0.5), texts["none"])
        ),
        texts["breaches"].format(n=breaches),
        texts["waiting"].format(n=waiting),
        texts["gaps"].format(n=total.get("kb_gaps")),
        texts["csat"].format(
            n=ratings,
            good=percent(total.get("csat#good"), ratings),
            average=round(total.get("csat#points") / ratings, 1) if ratings else "-",
        ),
    ]
    if best := best_rated(total):
        lines.append(texts["best"].format(agent=best[0], good=best[1], n=best[2]))
    lines += ["", texts["complaints"].format(n=len(complaints))]
    for shown, complaint in enumerate(complaints):
        line = f"— {complaint.get('ticket_id')}: {complaint.get('subject', '')}"
        if sum(len(part) + 1 for part in lines) + len(line) > DIGEST_LIMIT:
            lines.append(texts["more"].format(n=len(complaints) - shown))
            break
        lines.append(line)
    return "\n".join(lines)
