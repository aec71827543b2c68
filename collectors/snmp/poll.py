"""The one generic engine: read a device through its profile into a DeviceReading.

Steps: the system group (GET) → choose the profile → profile scalars (GET) → every column the
profile needs, walked table by table with GETBULK → assemble interfaces, health, components,
registration and calls. Vendor knowledge stays in the profile files; this code knows only
standard MIBs (SNMPv2-MIB, IF-MIB, ENTITY-MIB) and the profile format.
"""

from __future__ import annotations

import time
from collections import defaultdict

from collectors.snmp.profile import HealthSource, Profile, ProfileError, load_profiles, select_profile
from collectors.snmp.reading import Call, Component, DeviceReading, EntityValue, Interface
from collectors.snmp.session import Oid, SnmpError, SnmpSession, parse_oid
from collectors.snmp.values import Value, as_number, one_line

SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME = (parse_oid(f"1.3.6.1.2.1.1.{n}.0") for n in (1, 2, 3, 5))
ENT_NAME, ENT_DESCR = parse_oid("1.3.6.1.2.1.47.1.1.1.1.7"), parse_oid("1.3.6.1.2.1.47.1.1.1.1.2")
IF_COLUMNS = {  # IF-MIB ifTable / ifXTable
    "descr": "1.3.6.1.2.1.2.2.1.2",
    "speed": "1.3.6.1.2.1.2.2.1.5",
    "admin": "1.3.6.1.2.1.2.2.1.7",
    "oper": "1.3.6.1.2.1.2.2.1.8",
    "in_octets32": "1.3.6.1.2.1.2.2.1.10",
    "in_discards": "1.3.6.1.2.1.2.2.1.13",
    "in_errors": "1.3.6.1.2.1.2.2.1.14",
    "out_octets32": "1.3.6.1.2.1.2.2.1.16",
    "out_discards": "1.3.6.1.2.1.2.2.1.19",
    "out_errors": "1.3.6.1.2.1.2.2.1.20",
    "name": "1.3.6.1.2.1.31.1.1.1.1",
    "in_octets": "1.3.6.1.2.1.31.1.1.1.6",
    "out_octets": "1.3.6.1.2.1.31.1.1.1.10",
    "high_speed": "1.3.6.1.2.1.31.1.1.1.15",
    "alias": "1.3.6.1.2.1.31.1.1.1.18",
}
# Read only when a device has no ifXTable (old or minimal agents): 32-bit octets and ifSpeed.
IF_FALLBACK = ("in_octets32", "out_octets32", "speed")
IF_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}
Columns = dict[Oid, dict[Oid, Value]]


def _is_scalar(oid: str) -> bool:
    return oid.endswith(".0")


def _index_text(index: Oid) -> str:
    return ".".join(map(str, index))


def _columns_of(profile: Profile) -> list[Oid]:
    """Every column the profile's sections read, in a stable order."""
    wanted = [oid for key, oid in IF_COLUMNS.items() if key not in IF_FALLBACK] if profile.interfaces else []
    for sources in profile.health.values():
        for source in sources:
            wanted += [oid for oid in (source.value, source.used, source.free, source.size) if oid]
            wanted += [source.where.column] if source.where else []
            wanted += [source.names] if source.names[:1].isdigit() else []
            if source.names == "entity":
                wanted += [".".join(map(str, ENT_NAME)), ".".join(map(str, ENT_DESCR))]
    for status in profile.status:
        wanted += [] if _is_scalar(status.oid) else [status.oid]
        wanted += [status.names] if status.names and status.names[:1].isdigit() else []
    wanted += [r.oid for r in profile.registration.values() if not _is_scalar(r.oid)]
    if profile.calls:
        wanted += [oid for oid in profile.calls.model_dump().values() if oid]
    return list(dict.fromkeys(parse_oid(oid) for oid in wanted))


def _scalars_of(profile: Profile) -> list[Oid]:
    wanted = list(profile.identity.values())
    wanted += [status.oid for status in profile.status if _is_scalar(status.oid)]
    wanted += [r.oid for r in profile.registration.values() if _is_scalar(r.oid)]
    return list(dict.fromkeys(parse_oid(oid) for oid in wanted))


async def walk_by_table(session: SnmpSession, columns: list[Oid]) -> Columns:
    """Walk columns grouped by their table entry, so each GETBULK carries one table's columns."""
    tables: dict[Oid, list[Oid]] = defaultdict(list)
    for column in columns:
        tables[column[:-1]].append(column)
    found: Columns = {}
    for group in tables.values():
        found.update(await session.walk(group))
    return found


def _names(spec: str | None, index: Oid, columns: Columns, entity: dict[Oid, str]) -> str:
    if spec is None:
        return _index_text(index)
    if spec == "entity":
        return entity.get(index) or f"entity {_index_text(index)}"
    if spec[:1].isdigit():
        value = columns.get(parse_oid(spec), {}).get(index)
        return one_line(str(value)) if value not in (None, "") else _index_text(index)
    return spec.replace("{index}", _index_text(index))


def _health(source: HealthSource, columns: Columns, entity: dict[Oid, str]) -> list[EntityValue]:
    def column(oid: str | None) -> dict[Oid, Value]:
        return columns.get(parse_oid(oid), {}) if oid else {}

    keep = column(source.where.column) if source.where else None
    values: list[EntityValue] = []
    base = column(source.value or source.used)
    for index, raw in base.items():
        if keep is not None and str(keep.get(index)) != str(source.where.equals):  # type: ignore[union-attr]
            continue
        number = as_number(raw)
        if number is None or number in source.ignore:
            continue
        if source.used is not None:
            other = as_number(column(source.free or source.size).get(index))
            total = number + other if source.free and other is not None else other
            if not total:
                continue
            number = 100.0 * number / total
        values.append(
            EntityValue(entity=_names(source.names, index, columns, entity), value=round(number * source.scale, 2))
        )
    return values


def _interfaces(columns: Columns) -> list[Interface]:
    col = {key: columns.get(parse_oid(oid), {}) for key, oid in IF_COLUMNS.items()}
    indexes = sorted({index for key in ("descr", "oper", "name") for index in col[key]})
    interfaces = []
    for index in indexes:
        hc = col["in_octets"].get(index) is not None

        def number(key: str, i: Oid = index) -> int | None:
            value = col[key].get(i)
            return value if isinstance(value, int) else None

        high, speed = number("high_speed"), number("speed")
        interfaces.append(
            Interface(
                index=index[0] if len(index) == 1 else int(_index_text(index).replace(".", "")),
                name=one_line(str(col["name"].get(index) or col["descr"].get(index) or f"if{_index_text(index)}"))
                or "",
                alias=str(col["alias"].get(index)) if col["alias"].get(index) else None,
                admin_status=IF_STATUS.get(number("admin") or 0, "unknown"),
                oper_status=IF_STATUS.get(number("oper") or 0, "unknown"),
                speed_mbps=float(high) if high else (speed / 1e6 if speed else None),
                in_errors=number("in_errors"),
                out_errors=number("out_errors"),
                in_discards=number("in_discards"),
                out_discards=number("out_discards"),
                in_octets=number("in_octets") if hc else number("in_octets32"),
                out_octets=number("out_octets") if hc else number("out_octets32"),
                counter_bits=64 if hc else 32,
            )
        )
    return interfaces


def _components(profile: Profile, scalars: dict[Oid, Value], columns: Columns) -> list[Component]:
    components = []
    for status in profile.status:
        oid = parse_oid(status.oid)
        rows = {(): scalars.get(oid)} if _is_scalar(status.oid) else columns.get(oid, {})
        for index, raw in rows.items():
            if raw is None:
                continue
            word = status.map.get(raw, "unknown") if isinstance(raw, int) else "unknown"
            name = status.names if status.names and not status.names[:1].isdigit() else None
            components.append(
                Component(kind=status.kind, name=name or _names(status.names, index, columns, {}), status=word)
            )
    return components


def _registration(profile: Profile, scalars: dict[Oid, Value], columns: Columns) -> dict[str, str]:
    result = {"sip": "unknown", "h323": "unknown"}
    for service, source in profile.registration.items():
        oid = parse_oid(source.oid)
        raw = [scalars.get(oid)] if _is_scalar(source.oid) else list(columns.get(oid, {}).values())
        words = [source.map.get(value, "unknown") for value in raw if isinstance(value, int)]
        for word in ("failed", "registered", "disabled"):
            if word in words:
                result[service] = word
                break
    return result


def _calls(profile: Profile, columns: Columns) -> list[Call]:
    if profile.calls is None:
        return []
    spec = {key: parse_oid(oid) for key, oid in profile.calls.model_dump().items() if oid}
    indexes = sorted({index for oid in spec.values() for index in columns.get(oid, {})})
    calls = []
    for index in indexes:
        fields: dict[str, object] = {}
        for key, oid in spec.items():
            raw = columns.get(oid, {}).get(index)
            fields[key] = (one_line(str(raw)) if raw is not None else None) if key == "far_site" else as_number(raw)
        calls.append(Call(index=_index_text(index), **fields))  # type: ignore[arg-type]
    return calls


async def poll_device(session: SnmpSession, profile_name: str = "auto") -> DeviceReading:
    """One complete poll. Never raises for device trouble: the reading says what went wrong."""
    started = time.perf_counter()
    asked_before = session.requests  # the session lives across polls; a reading counts its own requests
    target = f"{session.target.host}:{session.target.port}"
    try:
        system = await session.get([SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME])
    except SnmpError as exc:
        return DeviceReading(
            target=target,
            reachable=False,
            error_kind=exc.kind,
            error=exc.detail,
            requests=session.requests - asked_before,
            poll_s=time.perf_counter() - started,
        )
    reading = DeviceReading(
        target=target,
        reachable=True,
        sys_descr=one_line(str(system[SYS_DESCR])) if system.get(SYS_DESCR) is not None else None,
        sys_object_id=str(system[SYS_OBJECT_ID]) if system.get(SYS_OBJECT_ID) is not None else None,
        sys_name=str(system[SYS_NAME]) if system.get(SYS_NAME) is not None else None,
        uptime_s=system[SYS_UPTIME] / 100 if isinstance(system.get(SYS_UPTIME), int) else None,
    )
    profiles = load_profiles()
    if profile_name == "auto":
        profile = select_profile(profiles, reading.sys_object_id, reading.sys_descr)
    elif profile_name in profiles:
        profile = profiles[profile_name]
    else:
        raise ProfileError(f"unknown profile {profile_name!r} (known: {', '.join(sorted(profiles))})")
    reading.profile, reading.kind = profile.name, profile.kind
    try:
        scalars = await session.get(_scalars_of(profile)) if _scalars_of(profile) else {}
        columns = await walk_by_table(session, _columns_of(profile))
    except SnmpError as exc:
        reading.error_kind, reading.error = exc.kind, f"after the system group: {exc.detail}"
        reading.requests, reading.poll_s = session.requests - asked_before, time.perf_counter() - started
        return reading
    if (
        profile.interfaces
        and columns.get(parse_oid(IF_COLUMNS["descr"]))
        and not columns.get(parse_oid(IF_COLUMNS["in_octets"]))
    ):
        try:  # no ifXTable: the 32-bit counters and ifSpeed are all there is
            columns.update(await walk_by_table(session, [parse_oid(IF_COLUMNS[key]) for key in IF_FALLBACK]))
        except SnmpError as exc:
            reading.error_kind, reading.error = exc.kind, f"after the system group: {exc.detail}"
    entity = {
        index: one_line(str(name or columns.get(ENT_DESCR, {}).get(index) or "")) or ""
        for index, name in columns.get(ENT_NAME, {}).items()
    }
    reading.identity = {key: scalars.get(parse_oid(oid)) for key, oid in profile.identity.items()}
    reading.health = {
        metric: [value for source in sources for value in _health(source, columns, entity)]
        for metric, sources in sorted(profile.health.items())
    }
    reading.interfaces = _interfaces(columns) if profile.interfaces else []
    reading.components = _components(profile, scalars, columns)
    reading.registration = _registration(profile, scalars, columns) if profile.registration else {}
    reading.calls = _calls(profile, columns)
    reading.requests, reading.poll_s = session.requests - asked_before, time.perf_counter() - started
    return reading
