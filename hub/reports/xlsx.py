"""Spreadsheets an office opens in WPS or Excel: the review of a conference, the year's evaluation.

Plain values only (no formulas, no macros, no external links), so any spreadsheet program shows the
same thing; Chinese headings first (`会场 / Venue`); the header row frozen and filterable; times in
Beijing time as text people read. The workbook is written to a temporary file beside the target and
renamed over it, so a reader never sees half a spreadsheet.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from hub.reports.common import local_text
from hub.reports.evaluation import Evaluation
from hub.reports.review import Review
from hub.reports.scoring import METRICS, Rules
from hub.reports.texts import heading, verdict_name

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
VERDICT_FILLS = {
    "fail": PatternFill("solid", fgColor="F8CBAD"),
    "warn": PatternFill("solid", fgColor="FFE699"),
    "unknown": PatternFill("solid", fgColor="D9D9D9"),
}
MAX_CELL_CHARS = 32_000  # Excel's limit is 32,767 characters per cell
YES_NO = {True: "是 / yes", False: "否 / no", None: "—"}
JOINED = {"yes": "是 / yes", "no": "否（未入会）/ no (never joined)", "pending": "待定 / pending"}


def _cell(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return YES_NO[value] if isinstance(value, bool) else None
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        return value[: MAX_CELL_CHARS - 1] + "…"
    return value


def _table(sheet: Worksheet, top: int, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a header row at `top` and the rows under it; returns the last row written."""
    for column, text in enumerate(headers, start=1):
        cell = sheet.cell(row=top, column=column, value=text)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    last = top
    for row in rows:
        last += 1
        for column, value in enumerate(row, start=1):
            sheet.cell(row=last, column=column, value=_cell(value))
    sheet.freeze_panes = sheet.cell(row=top + 1, column=2)
    if last > top:
        sheet.auto_filter.ref = f"A{top}:{get_column_letter(len(headers))}{last}"
    for column, text in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = max(10, min(40, len(text) + 2))
    return last


def _save(workbook: Workbook, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    try:
        workbook.save(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_review(review: Review, path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "点评 Review"
    title = review.title or review.conference_id
    sheet["A1"] = f"会议点评（第二十条）/ Conference review (Art. 20)：{title}（{review.conference_id}）"
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"] = (
        f"{heading('start')}：{local_text(review.start) or '—'}（北京时间 / Beijing time）　"
        f"{heading('verdict')}：{verdict_name(review.verdict)}　范围 / Scope：{review.scope}"
    )
    counts = review.counts()
    sheet["A3"] = (
        f"会场 {counts['total']} 个 / venues：正常 ok {counts['ok']}，警告 warn {counts['warn']}，"
        f"不合格 fail {counts['fail']}，未知 unknown {counts['unknown']}；未入会 never joined {counts['never_joined']}"
    )
    checks = review.art17_checks
    headers = [
        heading("venue"),
        heading("name"),
        heading("verdict"),
        heading("joined"),
        heading("scheduled"),
        heading("actual_min"),
        heading("planned_min"),
        heading("allowed_min"),
        heading("over_limit"),
        heading("art17_min_ok_pct"),
        *[f"{check} 合格 % / ok %" for check in checks],
        heading("device_incidents"),
        heading("call_drops"),
        heading("alerts"),
        heading("lost"),
        heading("rollcall_answered"),
        heading("rollcall_verdict"),
        heading("rollcall_failed_items"),
        heading("rollcall_seconds"),
        heading("liaison"),
        heading("liaison_phone"),
        heading("technical_head"),
        heading("technical_head_phone"),
        heading("reasons"),
    ]
    rows = []
    for v in review.venues:
        call = v.rollcall or {}
        rows.append(
            [
                v.venue,
                v.name,
                verdict_name(v.verdict),
                JOINED[v.joined],
                v.scheduled,
                v.actual_min,
                v.planned_min,
                v.allowed_min,
                v.over_limit,
                v.art17_min_ok_pct,
                *[(v.art17.get(check) or {}).get("ok") for check in checks],
                v.device_incidents,
                v.call_drops,
                len(v.alerts),
                len(v.lost),
                call.get("answered") if v.rollcall else None,
                call.get("verdict") or ("未应答 / silent" if v.rollcall and not call.get("answered") else None),
                ", ".join(call.get("failed_items") or []) or None,
                call.get("seconds"),
                v.contacts.get("liaison"),
                v.contacts.get("liaison_phone"),
                v.contacts.get("technical_head"),
                v.contacts.get("technical_head_phone"),
                "；".join(f"{r.zh} / {r.en}" for r in v.reasons) or None,
            ]
        )
    _table(sheet, 5, headers, rows)
    for index, v in enumerate(review.venues, start=6):
        if fill := VERDICT_FILLS.get(v.verdict):
            sheet.cell(row=index, column=3).fill = fill

    alerts = workbook.create_sheet("告警 Alerts")
    alert_rows = [
        [v.venue, v.name, local_text(_parse(a["at"])), a["severity"], a["code"], a["check"], _message(a["message"])]
        for v in review.venues
        for a in v.alerts
    ] + [
        [v.venue, v.name, local_text(_parse(t["at"])), t["state"], "availability", None, t["reason"]]
        for v in review.venues
        for t in v.lost
    ]
    _table(
        alerts,
        1,
        [heading(n) for n in ("venue", "name", "at", "severity", "code")] + ["检查项 / Check", heading("message")],
        sorted(alert_rows, key=lambda r: (r[2] or "", r[0])),
    )
    _save(workbook, path)


def write_evaluation(evaluation: Evaluation, rules: Rules, path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "考评 Evaluation"
    sheet["A1"] = (
        f"{evaluation.year} 年度会议组织承办工作考评（第二十一、二十二条）/ Evaluation {evaluation.year} (Art. 21–22)"
    )
    sheet["A1"].font = Font(bold=True, size=13)
    official = "官方 / official" if evaluation.rules_official else "非官方默认规则 / NOT the official annex (default)"
    sheet["A2"] = f"评分规则 / Rules：{evaluation.rules_name}（{official}）　范围 / Scope：{evaluation.scope}"
    metric_names = list(METRICS)
    headers = [
        heading("venue"),
        heading("name"),
        heading("level"),
        heading("score"),
        heading("grade"),
        heading("serious"),
        heading("award"),
        *metric_names,
        heading("liaison"),
        heading("liaison_phone"),
        heading("reasons"),
    ]
    rows = [
        [
            v.venue,
            v.name,
            v.level,
            v.scored.score,
            v.scored.grade,
            "；".join(s.label for s in v.scored.serious) or None,
            v.award_eligible,
            *[v.metrics.get(m) for m in metric_names],
            v.contacts.get("liaison"),
            v.contacts.get("liaison_phone"),
            "；".join(f"{n.zh} / {n.en}" for n in v.notes) or None,
        ]
        for v in evaluation.venues
    ]
    _table(sheet, 4, headers, rows)
    for index, v in enumerate(evaluation.venues, start=5):
        verdict = "fail" if v.serious else ("warn" if v.scored.below_pass else None)
        if verdict:
            sheet.cell(row=index, column=4).fill = VERDICT_FILLS[verdict]

    deductions = workbook.create_sheet("扣分 Deductions")
    _table(
        deductions,
        1,
        [heading("venue"), heading("name"), heading("metric"), heading("rule"), heading("value"), heading("points")],
        [
            [v.venue, v.name, d.metric, d.label, d.value, d.points]
            for v in evaluation.venues
            for d in v.scored.deductions
        ],
    )
    rules_sheet = workbook.create_sheet("规则 Rules")
    rules_sheet["A1"] = rules.rules.name
    rules_sheet["A2"] = official
    rules_sheet["A3"] = (
        f"基础分 / base {rules.rules.base:g}；最低分 / floor {rules.rules.floor:g}；"
        f"评优最低分 / award from {rules.rules.award_min_score:g}"
    )
    _table(
        rules_sheet,
        5,
        [
            "类型 / Kind",
            heading("metric"),
            heading("rule"),
            "每单位扣分 / Points per unit",
            "上限 / Max",
            "说明 / Meaning",
        ],
        [["扣分 / deduction", d.metric, d.label, d.points, d.max, METRICS[d.metric]] for d in rules.deduction]
        + [
            ["严重问题 / serious", s.metric, s.label, f"≥ {s.at_least:g}", None, METRICS[s.metric]]
            for s in rules.serious
        ]
        + [["等级 / grade", None, g.label, f"≥ {g.min:g}", None, None] for g in rules.grade],
    )
    _save(workbook, path)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _message(message: dict[str, Any]) -> str | None:
    if not message:
        return None
    return f"{message.get('zh', '')} / {message.get('en', '')}"
