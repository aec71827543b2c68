"""Bilingual texts of the agent's own events and errors, keyed by stable codes (see docs/codes.md)."""

from contract.catalog import Catalog

AGENT_MESSAGES = Catalog(
    {
        "agent.started": (
            "监测代理已启动（版本 {version}）",
            "venue agent started (version {version})",
        ),
        "agent.stopping": (
            "监测代理正常停止",
            "venue agent stopping cleanly",
        ),
        "agent.task_failed": (
            "任务 {task} 出错，{delay:.0f} 秒后重启：{error}",
            "task {task} failed, restarting in {delay:.0f} s: {error}",
        ),
        "agent.task_recovered": (
            "任务 {task} 已恢复运行",
            "task {task} is running again",
        ),
        "config.reloaded": (
            "配置已重新加载：{path}",
            "configuration reloaded from {path}",
        ),
        "config.reload_rejected": (
            "新配置无效，继续使用原配置：{errors}",
            "new configuration is invalid, keeping the previous one: {errors}",
        ),
        "config.invalid": (
            "配置文件 {path} 有 {count} 处错误",
            "configuration file {path} has {count} error(s)",
        ),
        "config.unreadable": (
            "无法读取配置文件 {path}：{error}",
            "cannot read configuration file {path}: {error}",
        ),
        "config.toml_syntax": (
            "配置文件 {path} 不是合法的 TOML：{error}",
            "configuration file {path} is not valid TOML: {error}",
        ),
        "config.secret_missing": (
            "找不到密码来源 {source}",
            "secret source {source} is not available",
        ),
        "outbox.dropped": (
            "发件队列已满（上限 {limit} 条），丢弃最早的 {kind} {count} 条（累计 {total} 条）",
            "outbox full ({limit} messages): dropped the {count} oldest {kind} (total {total})",
        ),
        "outbox.storage_error": (
            "发件队列写入失败，暂存内存（{held} 条）：{error}",
            "outbox cannot write to disk, holding {held} message(s) in memory: {error}",
        ),
        "outbox.storage_recovered": (
            "发件队列恢复写盘，已写回 {count} 条暂存消息",
            "outbox writes to disk again; {count} held message(s) written",
        ),
        "outbox.replaced": (
            "发件队列文件不可用（{error}），已另存为 {moved} 并新建：丢失排队消息 {lost} 条，"
            "事件序号在 {last_seq} 之后继续",
            "outbox file was unusable ({error}); moved to {moved} and started afresh: "
            "{lost} queued message(s) lost; event seq continues after {last_seq}",
        ),
        "outbox.replaced_unknown_loss": (
            "发件队列文件不可用（{error}），已另存为 {moved} 并新建：丢失的排队消息数无从得知，"
            "事件序号在 {last_seq} 之后继续",
            "outbox file was unusable ({error}); moved to {moved} and started afresh: "
            "how many queued messages were lost is unknown; event seq continues after {last_seq}",
        ),
        "outbox.repaired": (
            "发件队列文件已修复：删除格式错误的消息 {rows} 条（已丢失），重置错误的计数 {counters} 项",
            "outbox file repaired: {rows} malformed message(s) removed (lost), {counters} bad counter(s) reset",
        ),
        "outbox.held_lost": (
            "上次运行结束时有 {count} 条消息暂存在内存中，既未写入磁盘也未得到代理服务器确认，已丢失",
            "the previous run ended with {count} message(s) held in memory, "
            "neither on disk nor acknowledged by the broker: they are lost",
        ),
        "outbox.dropped_held": (
            "磁盘拒绝写入且内存暂存已满（上限 {limit} 条、{limit_mb} MB），"
            "丢弃最早的 {kind} {count} 条（累计 {total} 条）",
            "the disk refuses writes and the in-memory hold is full ({limit} messages, {limit_mb} MB): "
            "dropped the {count} oldest {kind} (total {total})",
        ),
        "outbox.rejected": (
            "代理服务器拒收了 {count} 条消息（累计 {total} 条；最近一条 {topic}：{reason}），检查代理服务器的访问控制",
            "the broker refused {count} message(s) ({total} in all; last on {topic}: {reason}); check the broker's ACL",
        ),
        "cmd.ok": ("命令 {command} 已执行", "command {command} done"),
        "cmd.bad_json": (
            "命令 {command} 的内容不是合法 JSON：{error}",
            "command {command}: payload is not valid JSON: {error}",
        ),
        "cmd.bad_payload": (
            "命令 {command} 的参数无效：{error}",
            "command {command}: invalid arguments: {error}",
        ),
        "cmd.unknown": (
            "未知命令 {command}（支持：{known}）",
            "unknown command {command} (known: {known})",
        ),
        "cmd.failed": (
            "命令 {command} 执行失败：{error}",
            "command {command} failed: {error}",
        ),
        "cmd.too_large": (
            "命令 {command} 的内容过大（{size} 字节，上限 {limit} 字节）",
            "command {command}: payload too large ({size} bytes, at most {limit})",
        ),
        "cmd.busy": (
            "命令 {command} 暂不能执行：{error}",
            "command {command} cannot be taken now: {error}",
        ),
        "cmd.cancelled": (
            "监测代理正在停止，命令 {command} 已取消",
            "the agent is stopping; command {command} was cancelled",
        ),
        "agent.duplicate_client": (
            "另有 {count} 个监测代理以本会场身份（客户端标识 {client_id}）发布状态，互相挤下线："
            "可能两台电脑使用了同一份配置（克隆的系统镜像），请为每台电脑配置唯一的会场标识",
            "{count} other agent(s) publish as this venue (client id {client_id}) and knock it off the broker: "
            "two agents run from one config (a cloned PC image?); give each PC its own venue id",
        ),
        "schedule.stored_rejected": (
            "保存的上级推送会议计划 {path} 无效，已另存为 {moved}，未使用：{error}",
            "the schedule the hub pushed, stored in {path}, is invalid and was set aside as {moved}: {error}",
        ),
        "schedule.fired_unreadable": (
            "已执行检查点记录 {path} 无法读取，重新记录（个别检查点可能再次通报）：{error}",
            "the record of fired checkpoints {path} cannot be read and starts afresh "
            "(a checkpoint may be announced again): {error}",
        ),
        "schedule.ics_unreadable": (
            "无法读取会议日历文件 {path}，其中的会议未列入计划：{error}",
            "cannot read the conference calendar {path}; its conferences are not on the schedule: {error}",
        ),
        "schedule.ics_events_skipped": (
            "会议日历文件 {path} 中有 {count} 个事件无法读取，已略过：{problems}",
            "{count} event(s) of the conference calendar {path} cannot be read and are left out: {problems}",
        ),
        "timeline.missed": (
            "会议 {title}（{conference}）的 {checkpoint} 已错过（会议已开始），未执行",
            "{checkpoint} of {title} ({conference}) was missed (the conference had begun) and is skipped",
        ),
        **{
            f"timeline.{kind}": (
                f"会议 {{title}}（{{conference}}）：{zh}（{{at}}）",
                f"{{title}} ({{conference}}): {en} ({{at}})",
            )
            for kind, zh, en in (
                ("eve_debug_selftest", "会前一日 15:00 调试自检", "eve-of-conference 15:00 test"),
                ("power_on_selftest", "会前 90 分钟开机自检", "power-on test, 90 min ahead"),
                ("rollcall_selftest", "会前 60 分钟点名自检", "roll-call test, 60 min ahead"),
                ("seating_check", "会前 15 分钟就座检查", "seating check, 15 min ahead"),
                ("meeting_start", "会议开始", "conference starts"),
                ("meeting_end", "会议结束", "conference ends"),
                ("post_meeting_summary", "会后小结", "post-conference summary"),
            )
        },
        "selftest.item_failed": (
            "自检未通过：{check}。{zh}",
            "self-test item failed: {check}. {en}",
        ),
        "selftest.completed": (
            "自检完成（{trigger}）：{verdict}，通过 {pass} 项，警告 {warn} 项，"
            "失败 {fail} 项，未知 {unknown} 项，用时 {duration:.1f} 秒",
            "self-test ({trigger}) done: {verdict}; {pass} passed, {warn} warned, "
            "{fail} failed, {unknown} unknown in {duration:.1f} s",
        ),
        "conference.overrun_planned": (
            "会议 {title}（{conference_id}）计划时长 {minutes:.0f} 分钟，超过第三条规定的 {limit} 分钟",
            "{title} ({conference_id}) is planned for {minutes:.0f} min, over the Art. 3 limit of {limit} min",
        ),
        "conference.overrun_normal": (
            "会议 {title}（{conference_id}）已进行 {minutes:.0f} 分钟，"
            "超过第三条规定的一般时长 {limit} 分钟（依据：{source_zh}）",
            "{title} ({conference_id}) has run {minutes:.0f} min, "
            "past the Art. 3 normal length of {limit} min (from the {source_en})",
        ),
        "conference.overrun_maximum": (
            "会议 {title}（{conference_id}）已进行 {minutes:.0f} 分钟，"
            "超过第三条规定的最长 {limit} 分钟（依据：{source_zh}）",
            "{title} ({conference_id}) has run {minutes:.0f} min, "
            "past the Art. 3 maximum of {limit} min (from the {source_en})",
        ),
        "conference.summary": (
            "会后小结（第二十条）：{title} 实际 {actual:.0f} 分钟（上限 {allowed}），"
            "图像声音各项合格时间不低于 {ok}%，设备故障 {incidents} 次，掉线 {drops} 次",
            "post-conference summary (Art. 20): {title} ran {actual:.0f} min (allowed {allowed}); "
            "every Art. 17 check ok at least {ok} % of the time; {incidents} device incident(s), {drops} call drop(s)",
        ),
        "check.changed": (
            "{check}：{previous} → {verdict}。{zh}",
            "{check}: {previous} → {verdict}. {en}",
        ),
    }
)
