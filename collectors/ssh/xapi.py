"""The Cisco TelePresence / RoomOS xAPI status grammar, parsed once into a generic tree.

A status answer is lines `*s Path Index Leaf: Value`, then `** end`, then `OK`:

    *s Call 3 Status: Connected
    *s Call 3 RemoteNumber: "8001@mcu.example"
    *s MediaChannels Call 3 Channel 12 Netstat Loss: 0
    ** end
    OK

A number after a name is an instance index, so the tree is nested dicts whose instance levels have
int keys: `tree["Call"][3]["Status"] == "Connected"`. String values come quoted (`\\"` and `\\\\`
escaped); the quotes are removed. `*s Video Input Source 3 (ghost=True)` says instance 3 is gone.
An error answer is a `*r … (status=Error):` record with indented `Reason:` lines and the trailer
`ERROR`; an unknown command is answered `Command not recognized.`
`render_status` writes a tree back in the same grammar (the simulated codec speaks through it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

STATUS_LINE = re.compile(r"^\*s (?P<path>[^:(]*?)(?: \((?P<attrs>[^)]*)\))?(?::(?: (?P<value>.*))?)?$")
RESULT_LINE = re.compile(r"^\*r (?P<name>\S+) \(status=(?P<status>\w+)\):?")
BARE = re.compile(r"^[A-Za-z0-9_.\-]+$")
LEAF_KEY = "_value"  # a value stored where the tree also has children (never seen, but kept)

Tree = dict[Any, Any]


class Quoted(str):
    """A value the codec sends quoted even when it is one word (strings such as `"sip"`)."""


@dataclass
class XapiAnswer:
    tree: Tree = field(default_factory=dict)
    ok: bool = True
    error: str | None = None  # the reason of an ERROR answer, or `Command not recognized.`


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _quote(value: str) -> str:
    if BARE.match(value) and not isinstance(value, Quoted):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tokens(path: str) -> list[str | int]:
    return [int(token) if token.isascii() and token.isdigit() else token for token in path.split()]


def _insert(tree: Tree, tokens: list[str | int], value: str) -> None:
    node = tree
    for token in tokens[:-1]:
        child = node.get(token)
        if not isinstance(child, dict):
            child = {} if child is None else {LEAF_KEY: child}
            node[token] = child
        node = child
    last = tokens[-1]
    if isinstance(node.get(last), dict):
        node[last][LEAF_KEY] = value
    else:
        node[last] = value


def _remove(tree: Tree, tokens: list[str | int]) -> None:
    node = tree
    for token in tokens[:-1]:
        node = node.get(token)
        if not isinstance(node, dict):
            return
    node.pop(tokens[-1], None)


def parse(text: str) -> XapiAnswer:
    """Parse one answer (any line ending; echo, banners and blank lines are ignored)."""
    answer = XapiAnswer()
    reasons: list[str] = []
    in_error = False
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        if line.startswith("*s "):
            match = STATUS_LINE.match(line)
            if match is None:
                continue
            tokens = _tokens(match["path"])
            if not tokens:
                continue
            if match["attrs"] and "ghost=True" in match["attrs"]:
                _remove(answer.tree, tokens)
            elif match["value"] is not None or line.endswith(":"):
                _insert(answer.tree, tokens, _unquote(match["value"] or ""))
        elif line.startswith("*r "):
            match = RESULT_LINE.match(line)
            in_error = bool(match and match["status"].lower() == "error")
            if in_error:
                answer.ok = False
        elif in_error and line.strip().startswith("Reason:"):
            reasons.append(_unquote(line.split(":", 1)[1].strip()))
        elif line.strip() == "ERROR":
            answer.ok = False
        elif line.strip() == "Command not recognized.":
            answer.ok, answer.error = False, "Command not recognized."
    if not answer.ok and answer.error is None:
        answer.error = "; ".join(reasons) or "ERROR"
    return answer


def render_status(tree: Tree, prefix: tuple = ()) -> list[str]:
    """The `*s` lines of a tree, depth first, in insertion order."""
    lines = []
    for key, value in tree.items():
        if key == LEAF_KEY:
            lines.append(f"*s {' '.join(map(str, prefix))}: {_quote(value)}")
        elif isinstance(value, dict):
            lines += render_status(value, (*prefix, key))
        else:
            lines.append(f"*s {' '.join(map(str, (*prefix, key)))}: {_quote(value)}")
    return lines


def subtree(tree: Tree, *path: str | int) -> Any:
    """tree[path…] or None where any step is missing."""
    node: Any = tree
    for step in path:
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    return node


def instances(node: Any) -> dict[int, Tree]:
    """The int-keyed instances of a node ({} when none)."""
    if not isinstance(node, dict):
        return {}
    return {key: value for key, value in node.items() if isinstance(key, int) and isinstance(value, dict)}
