"""Bilingual texts of the hub's own codes (log lines, command output), keyed by stable codes.

One `contract.catalog.Catalog`, as the agent keeps its own: code → (Chinese, English); listed in
docs/codes.md by `python -m agent.docgen`.
"""

from __future__ import annotations

from contract.catalog import Catalog

HUB_MESSAGES = Catalog(
    {
        "ingest.rejected.topic": (
            "主题 {topic} 不在会场主题树内，已拒收",
            "topic {topic} is not a venue topic of the tree: rejected",
        ),
        "ingest.rejected.leaf": (
            "主题 {topic} 的末级 {leaf} 未知，已拒收",
            "topic {topic} has an unknown leaf {leaf}: rejected",
        ),
        "ingest.rejected.scope": (
            "主题 {topic} 不在本中心的范围 {scope} 内，已拒收",
            "topic {topic} lies outside this hub's scope {scope}: rejected",
        ),
        "ingest.rejected.too_large": (
            "{topic} 上的消息 {size} 字节，超过上限 {limit} 字节，已拒收",
            "message on {topic} is {size} bytes, over the limit of {limit}: rejected",
        ),
        "ingest.rejected.bad_json": (
            "{topic} 上的消息不是合法的 JSON（{error}），已拒收",
            "message on {topic} is not valid JSON ({error}): rejected",
        ),
        "ingest.rejected.schema": (
            "{topic} 上的消息不符合 {schema} 模式（{error}），已拒收",
            "message on {topic} does not match the {schema} schema ({error}): rejected",
        ),
        "ingest.rejected.venue_mismatch": (
            "{topic} 上的消息自称来自会场 {claimed}，与主题不符，已拒收",
            "message on {topic} claims to come from venue {claimed}, not the topic's: rejected",
        ),
        "ingest.rejected.availability": (
            "{topic} 上的在线状态 {value} 既不是 online 也不是 offline，已拒收",
            "availability {value} on {topic} is neither online nor offline: rejected",
        ),
        "ingest.store_failed": (
            "{topic} 上的消息无法入库（{error}），已跳过",
            "message on {topic} could not be stored ({error}): skipped",
        ),
        "ingest.database_unavailable": (
            "数据库暂不可用（{error}），{delay:.0f} 秒后重试；消息在确认前由代理服务器保留",
            "database unavailable ({error}); retrying in {delay:.0f} s, "
            "the broker keeps the messages until acknowledged",
        ),
        "venue.state_changed": (
            "会场 {venue} 状态由 {previous} 变为 {state}",
            "venue {venue} went from {previous} to {state}",
        ),
        "venue.seq_gap": (
            "会场 {venue} 的事件序号 {first}–{last} 缺失（共 {count} 条）",
            "venue {venue} is missing event seq {first}–{last} ({count} event(s))",
        ),
    }
)


def log_text(code: str, **fields: object) -> str:
    """One log line: the code, then the English and the Chinese text."""
    message = HUB_MESSAGES.render(code, **fields)
    return f"{code}: {message.en} / {message.zh}"
