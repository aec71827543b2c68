"""The broker security of the tree (Art. 9), against a real mosquitto loaded with what `venue-hub acl` made.

One broker for the module: a TLS listener with `require_certificate` and `use_identity_as_username`,
the generated ACL, CRL and certificates. For a venue, a prefecture and the province every publish
and every read of a probe set of topics is tried with that account's own certificate, and what got
through is compared with the rule table of docs/acl.md:

- a forbidden publish is dropped: its QoS 1 PUBACK says 0x87 and a privileged observer (a test-only
  account appended to the ACL, `readwrite #`) never sees it, while an allowed marker sent after it
  arrives;
- mosquitto 2.0's acl_file grants every SUBSCRIBE (it checks reads at delivery): a forbidden read is
  a message — live or retained — that the account's `#` subscription never receives, while a marker
  it may read, sent after it, does.

Then the two attacks of issue #14 with the real agent daemon on its generated certificate: a forged
reply (venue B writing under venue A's `cmd/replies/…`) and a request whose response topic points at
another venue; and the agent's MQTT 5 Maximum Packet Size, read off its CONNECT and seen at work.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from agent.mqtt.commands import MAX_COMMAND_BYTES
from agent.mqtt.link import MAX_PACKET_BYTES
from contract.broker import max_packet_size
from contract.topics import VenueTopics, reply_topic_problem
from hub.acl.certificates import Pki
from hub.acl.rules import build_accounts
from sim.broker import Mosquitto
from sim.ports import free_port

INVENTORY = """\
province,prefecture,county,id,name
jilin,changchun,_,main,长春市政府视频会议室
jilin,changchun,nongan,main,农安县政府视频会议室
jilin,changchun,dehui,main,德惠市政府视频会议室
jilin,siping,_,main,四平市政府视频会议室
jilin,siping,lishu,main,梨树县政府视频会议室
"""
A = "vc/jilin/changchun/nongan/main"  # the venue under test; its agent runs as changchun.nongan.main
B = "vc/jilin/changchun/dehui/main"  # another county of the same prefecture
LISTED = [A, B, "vc/jilin/changchun/_/main", "vc/jilin/siping/_/main", "vc/jilin/siping/lishu/main"]
UNLISTED = [
    "vc/jilin/changchun/nongan/other",  # a venue id the inventory does not know, in A's county
    "vc/jilin/changchun/newcounty/main",  # a county the inventory does not know, in Changchun
    "vc/heilongjiang/harbin/_/main",  # another province
]
LEAVES = [
    "availability",
    "status",
    "events",
    "selftest",
    "metrics",
    "snapshot",
    "replies",
    "cmd/ping",
    "cmd/replies/t1",
]
LOOSE = ["hub/changchun/x", "vc/jilin/changchun", f"{A}/foo", f"{A}/status/x", f"{A}/cmd/replies/t1/deeper"]
PROBES = [f"{base}/{leaf}" for base in LISTED + UNLISTED for leaf in LEAVES] + LOOSE
RETAINED_LEAVES = ("availability", "status", "selftest")
WAIT_S = 15.0
NOT_AUTHORISED = 0x87


def _commands_of(bases: list[str]) -> set[str]:
    return {f"{base}/cmd/ping" for base in bases}


def _under(prefix: str) -> set[str]:
    return {topic for topic in PROBES if topic == prefix or topic.startswith(f"{prefix}/")}


# The rule table of docs/acl.md, written out for the probe set.
WRITES = {
    "changchun.nongan.main": {f"{A}/{leaf}" for leaf in LEAVES} | {f"{A}/cmd/replies/t1/deeper"},
    "prefecture.changchun": _commands_of([A, B, "vc/jilin/changchun/_/main"]),
    "province.jilin": _commands_of([base for base in LISTED + UNLISTED if base.startswith("vc/jilin/")]),
}
READS = {
    "changchun.nongan.main": {f"{A}/{leaf}" for leaf in ("availability", "status", "selftest", "cmd/ping")}
    | {f"{A}/cmd/replies/t1", f"{A}/cmd/replies/t1/deeper"},
    "prefecture.changchun": _under("vc/jilin/changchun"),
    "province.jilin": _under("vc/jilin"),
}


class Account:
    """A paho MQTT 5 client logged in with one account's generated certificate (its CN is the user)."""

    def __init__(self, pki: Path, name: str, port: int):
        self.name = name
        self.messages: list[mqtt.MQTTMessage] = []
        self._cond = threading.Condition()
        self._acks: dict[int, object] = {}
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-{name}-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
        )
        files = pki / "clients" / name
        self.client.tls_set(
            ca_certs=str(files / "ca.pem"), certfile=str(files / f"{name}.pem"), keyfile=str(files / f"{name}.key")
        )
        self.client.on_message = self._on_message
        self.client.on_publish = lambda _c, _u, mid, reason, _p: self._ack(mid, reason)
        self.client.on_subscribe = lambda _c, _u, mid, reasons, _p: self._ack(mid, reasons)
        connected = threading.Event()
        self.client.on_connect = lambda *_a: connected.set()
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not connected.wait(WAIT_S):
            self.close()
            raise AssertionError(f"{name} could not connect")

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def _ack(self, mid: int, reason: object) -> None:
        with self._cond:
            self._acks[mid] = reason
            self._cond.notify_all()

    def _wait_ack(self, mid: int) -> object:
        deadline = time.monotonic() + WAIT_S
        with self._cond:
            while mid not in self._acks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.name}: no acknowledgement for message {mid}")
                self._cond.wait(remaining)
            return self._acks.pop(mid)

    def subscribe(self, topic_filter: str) -> int:
        """The SUBACK reason code's value."""
        _result, mid = self.client.subscribe(topic_filter, qos=1)
        reasons = self._wait_ack(mid)
        return reasons[0].value  # type: ignore[index]

    def publish(
        self, topic: str, payload: bytes, retain: bool = False, properties: Properties | None = None
    ) -> ReasonCode:
        """QoS 1; the PUBACK's reason code."""
        info = self.client.publish(topic, payload, qos=1, retain=retain, properties=properties)
        return self._wait_ack(info.mid)  # type: ignore[return-value]

    def wait_for(self, predicate: Callable[[mqtt.MQTTMessage], bool], timeout: float = WAIT_S) -> mqtt.MQTTMessage:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((m for m in self.messages if predicate(m)), None)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.name}: timed out; last seen {[m.topic for m in self.messages[-5:]]}")
                self._cond.wait(remaining)

    def seen(self, predicate: Callable[[mqtt.MQTTMessage], bool]) -> list[mqtt.MQTTMessage]:
        with self._cond:
            return [m for m in self.messages if predicate(m)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Tree:
    root: Path  # the hub config's directory
    pki: Path  # what `venue-hub acl --out` wrote
    port: int
    broker: Mosquitto
    observer: Account  # test-only: readwrite # (not part of the generated ACL)

    def account(self, name: str) -> Account:
        return Account(self.pki, name, self.port)

    def files(self, name: str) -> Path:
        return self.pki / "clients" / name

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"


def run_acl(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "acl", "-c", str(config), *args], capture_output=True, text=True, timeout=120
    )


def write_hub_config(directory: Path, port: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "inventory.csv").write_text(INVENTORY, encoding="utf-8")
    config = directory / "hub.toml"
    config.write_text(
        '[hub]\nscope = "vc/jilin/#"\ninventory = "inventory.csv"\n\n'
        f'[broker]\nurl = "mqtts://127.0.0.1:{port}"\ntopic_prefix = "vc"\n',
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tree]:
    root = tmp_path_factory.mktemp("acl")
    port = free_port()
    config = write_hub_config(root / "hub", port)
    pki = root / "pki"
    made = run_acl(config, "--out", str(pki), "--broker-dir", str(pki / "broker"))
    assert made.returncode == 0, made.stderr
    # The test's observer: its own user block after the generated ones (nothing generated changes);
    # and a certificate revoked before the broker starts, to see the generated CRL at work.
    Pki(pki).ensure_client("test.observer")
    Pki(pki).ensure_client("test.revoked")
    Pki(pki).revoke("test.revoked")
    assert Pki(pki).write_crl() is not None
    acl = root / "acl-under-test"
    acl.write_text(
        (pki / "broker" / "venue-agent.acl").read_text(encoding="utf-8")
        + "\n# test only\nuser test.observer\ntopic readwrite #\n",
        encoding="utf-8",
    )
    snippet = (pki / "broker" / "venue-agent.conf").read_text(encoding="utf-8")
    assert f"acl_file {pki / 'broker' / 'venue-agent.acl'}\n" in snippet
    (root / "broker").mkdir()
    broker = Mosquitto(port=port, workdir=root / "broker")
    broker.config_path.write_text(
        snippet.replace(f"acl_file {pki / 'broker' / 'venue-agent.acl'}", f"acl_file {acl}")
        + (
            "user root\n" if os.geteuid() == 0 else ""
        )  # keys are 0600 and ours: the broker must not drop to `mosquitto`
        + f"persistence false\nlog_dest file {broker.log_path}\nlog_type error\nlog_type warning\n",
        encoding="utf-8",
    )
    with broker:
        observer = Account(pki, "test.observer", port)
        assert observer.subscribe("#") == 1
        try:
            yield Tree(root / "hub", pki, port, broker, observer)
        finally:
            observer.close()


# -- what the generator wrote ------------------------------------------------------------------


def test_every_level_gets_an_account_and_keys_are_private(tree: Tree):
    accounts = {a.name: a.role for a in build_accounts("vc/jilin/#", _inventory_rows())}
    assert accounts == {
        "province.jilin": "province",
        "prefecture.changchun": "prefecture",
        "prefecture.siping": "prefecture",
        "changchun._.main": "venue",
        "changchun.nongan.main": "venue",
        "changchun.dehui.main": "venue",
        "siping._.main": "venue",
        "siping.lishu.main": "venue",
    }
    for name in accounts:
        key = tree.files(name) / f"{name}.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, name
        subject = subprocess.run(
            [
                "openssl",
                "x509",
                "-in",
                str(tree.files(name) / f"{name}.pem"),
                "-noout",
                "-subject",
                "-nameopt",
                "RFC2253",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert subject.strip() == f"subject=CN={name}"
    for secret in (tree.pki / "ca" / "ca.key", tree.pki / "broker" / "broker.key"):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    acl = (tree.pki / "broker" / "venue-agent.acl").read_text(encoding="utf-8").splitlines()
    first_user = next(n for n, line in enumerate(acl) if line.startswith("user "))
    assert all(line.startswith("#") or not line.strip() for line in acl[:first_user]), "no anonymous rights"
    assert not any(line.startswith("pattern") or " hub/" in line for line in acl)


def _inventory_rows() -> list:
    from hub.config.inventory import InventoryVenue

    lines = INVENTORY.splitlines()[1:]
    keys = ("province", "prefecture", "county", "id", "name")
    return [InventoryVenue(**dict(zip(keys, line.split(","), strict=True))) for line in lines]


def test_a_prefecture_scope_makes_that_office_and_its_venues_only():
    accounts = build_accounts("vc/jilin/changchun/#", _inventory_rows())
    assert [a.name for a in accounts] == [
        "prefecture.changchun",
        "changchun._.main",
        "changchun.dehui.main",
        "changchun.nongan.main",
    ]


def test_the_example_acl_and_conf_are_what_the_generator_makes_of_the_example_config():
    from hub.acl.mosquitto import BrokerFiles, render_acl, render_listener
    from hub.cli.acl import DEFAULT_BROKER_DIR
    from hub.config.inventory import load_inventory
    from hub.config.load import load_settings

    config = Path(__file__).parent.parent / "config"
    settings = load_settings(config / "hub.example.toml")
    assert settings.hub.inventory is not None
    accounts = build_accounts(settings.hub.scope, load_inventory(settings.hub.inventory).venues)
    expected = render_acl(accounts, f"hub.example.toml ({settings.hub.scope})")
    assert (config / "mosquitto-hub.example.acl").read_text(encoding="utf-8") == expected, "run venue-hub acl again"
    snippet = render_listener(
        BrokerFiles(DEFAULT_BROKER_DIR), settings.broker.host, settings.broker.port, max_packet_size(1_048_576)
    )
    assert (config / "mosquitto-hub.example.conf").read_text(encoding="utf-8").endswith(snippet)


def test_the_by_hand_steps_use_the_generators_openssl_config():
    from hub.acl.certificates import OPENSSL_CNF

    docs = (Path(__file__).parent.parent / "docs" / "acl.md").read_text(encoding="utf-8")
    assert f"```ini\n{OPENSSL_CNF}```" in docs


def test_a_rerun_keeps_the_ca_keys_and_certificates_and_adds_only_what_is_missing(tree: Tree, tmp_path: Path):
    copy = tmp_path / "pki"
    shutil.copytree(tree.pki, copy)
    config = write_hub_config(tmp_path / "hub", tree.port)
    with (tmp_path / "hub" / "inventory.csv").open("a", encoding="utf-8") as inventory:
        inventory.write("jilin,siping,shuangliao,main,双辽市政府视频会议室\n")
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.suffix in (".key", ".pem") and "issued" not in p.parts}
    before.pop(copy / "broker" / "crl.pem")  # renewed at every run
    shutil.rmtree(copy / "clients" / "changchun.dehui.main")  # ...and one whose key went to its venue PC:
    (copy / "clients" / "siping.lishu.main" / "siping.lishu.main.key").unlink()  # kept as it is
    again = run_acl(config, "--out", str(copy), "--broker-dir", str(copy / "broker"))
    assert again.returncode == 0, again.stderr
    issued = sorted(line.split(": ", 1)[1] for line in again.stdout.splitlines() if line.startswith("issued"))
    assert issued == [
        str(copy / "clients" / "changchun.dehui.main" / "changchun.dehui.main.pem"),
        str(copy / "clients" / "siping.shuangliao.main" / "siping.shuangliao.main.pem"),
    ]
    assert "test.observer" in again.stderr  # a certificate the inventory does not name is pointed out
    for path, content in before.items():
        if "changchun.dehui.main" in path.parts or path.name == "siping.lishu.main.key":
            continue
        assert path.read_bytes() == content, f"{path} was rewritten"
    assert not (copy / "clients" / "siping.lishu.main" / "siping.lishu.main.key").exists()
    assert "user siping.shuangliao.main" in (copy / "broker" / "venue-agent.acl").read_text(encoding="utf-8")


def test_a_revoked_certificate_fails_the_crl_check_and_a_new_one_is_issued(tree: Tree, tmp_path: Path):
    copy = tmp_path / "pki"
    shutil.copytree(tree.pki, copy)
    config = write_hub_config(tmp_path / "hub", tree.port)
    old = copy / "clients" / "changchun.dehui.main" / "changchun.dehui.main.pem"
    old_bytes = old.read_bytes()
    result = run_acl(
        config, "--out", str(copy), "--broker-dir", str(copy / "broker"), "--revoke", "changchun.dehui.main"
    )
    assert result.returncode == 0, result.stderr
    assert old.read_bytes() != old_bytes  # a new key and certificate for the same account
    revoked = next((copy / "revoked").glob("changchun.dehui.main-*/changchun.dehui.main.pem"))

    def verify(certificate: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "verify", "-crl_check", "-CRLfile", str(copy / "broker" / "crl.pem"), "-CAfile",
             str(copy / "ca" / "ca.pem"), str(certificate)],
            capture_output=True, text=True,
        )  # fmt: skip

    refused = verify(revoked)
    assert refused.returncode != 0 and "revoked" in refused.stdout + refused.stderr
    assert verify(old).returncode == 0


def _mqtt_connect_over_tls(tree: Tree, files: Path, name: str) -> bytes:
    """A TLS handshake with `name`'s certificate, an MQTT 3.1.1 CONNECT, and what the broker answers."""
    context = ssl.create_default_context(cafile=str(files / "ca.pem"))
    context.load_cert_chain(str(files / f"{name}.pem"), str(files / f"{name}.key"))
    client_id = b"test-tls-probe"
    body = b"\x00\x04MQTT\x04\x02\x00\x0a" + len(client_id).to_bytes(2, "big") + client_id
    with (
        socket.create_connection(("127.0.0.1", tree.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(bytes([0x10, len(body)]) + body)
        return tls.recv(16)


def test_a_revoked_certificate_cannot_even_connect_and_a_valid_one_can(tree: Tree):
    assert _mqtt_connect_over_tls(tree, tree.files("changchun.dehui.main"), "changchun.dehui.main")[:1] == b"\x20"
    revoked = next((tree.pki / "revoked").glob("test.revoked-*"))
    with pytest.raises((ssl.SSLError, ConnectionError)):  # mosquitto closes the TLS session, no CONNACK
        if not _mqtt_connect_over_tls(tree, revoked, "test.revoked"):
            raise ConnectionError("closed without a CONNACK")
    deadline = time.monotonic() + WAIT_S
    while "certificate verify failed" not in tree.broker.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the broker did not say why it refused the certificate"
        time.sleep(0.1)
    # ...and nothing but the CRL is wrong with it: signed by the CA, in date, for a client.
    certificate = revoked / "test.revoked.pem"
    checked = subprocess.run(
        ["openssl", "verify", "-purpose", "sslclient", "-CAfile", str(tree.pki / "ca" / "ca.pem"), str(certificate)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


# -- every allowed and every forbidden publish ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(WRITES))
def test_each_account_writes_exactly_what_the_table_allows(tree: Tree, name: str):
    run = uuid.uuid4().hex[:8]
    account = tree.account(name)
    try:
        refused, accepted = set(), set()
        for topic in PROBES:
            reason = account.publish(topic, f"{run}:{topic}".encode())
            (refused if reason.is_failure else accepted).add(topic)
            if reason.is_failure:
                assert reason.value == NOT_AUTHORISED, (topic, str(reason))
        marker = sorted(WRITES[name])[0]
        account.publish(marker, f"{run}:END".encode())
        tree.observer.wait_for(lambda m: m.payload == f"{run}:END".encode())
        arrived = {m.topic for m in tree.observer.seen(lambda m: m.payload.startswith(f"{run}:".encode()))}
        assert arrived == WRITES[name]
        assert accepted == WRITES[name]
        assert refused == set(PROBES) - WRITES[name]
    finally:
        account.close()


# -- every allowed and every forbidden read (live and retained) -----------------------------------


@pytest.mark.parametrize("name", sorted(READS))
def test_each_account_reads_exactly_what_the_table_allows(tree: Tree, name: str):
    run = uuid.uuid4().hex[:8]
    retained = [topic for topic in PROBES if topic.rsplit("/", 1)[-1] in RETAINED_LEAVES]
    for topic in retained:
        tree.observer.publish(topic, f"{run}:retained:{topic}".encode(), retain=True)
    account = tree.account(name)
    try:
        # mosquitto 2.0 grants each SUBSCRIBE and filters at delivery; a later one may answer 0x87.
        shared = "$share/venue-hub/vc/#"
        assert account.subscribe("#") in (1, NOT_AUTHORISED)
        assert account.subscribe(shared) in (1, NOT_AUTHORISED)
        for topic in PROBES:
            tree.observer.publish(topic, f"{run}:live:{topic}".encode())
        marker = sorted(READS[name])[0]
        tree.observer.publish(marker, f"{run}:END".encode())
        account.wait_for(lambda m: m.payload == f"{run}:END".encode())
        got = account.seen(lambda m: m.payload.startswith(f"{run}:".encode()) and m.payload != f"{run}:END".encode())
        live = {m.topic for m in got if m.payload.startswith(f"{run}:live:".encode())}
        kept = {m.topic for m in got if m.payload.startswith(f"{run}:retained:".encode())}
        assert live == READS[name]
        assert kept == {topic for topic in retained if topic in READS[name]}
    finally:
        account.close()
        for topic in retained:
            tree.observer.publish(topic, b"", retain=True)  # clear them for the other tests


# -- the attacks of issue #14, with the real agent ---------------------------------------------


def _agent_tls(tree: Tree, name: str) -> str:
    files = tree.files(name)
    return (
        f'\n[broker.tls]\nca_file = "{files / "ca.pem"}"\ncert_file = "{files / f"{name}.pem"}"\n'
        f'key_file = "{files / f"{name}.key"}"\n'
    )


def _status(message: mqtt.MQTTMessage) -> dict | None:
    """A's status as the agent publishes it (the probes put other bytes on the same topic)."""
    if message.topic != f"{A}/status" or not message.payload.startswith(b"{"):
        return None
    return json.loads(message.payload)


def _statuses(tree: Tree, pid: int) -> list[dict]:
    """A's statuses published by the agent process `pid`, oldest first."""
    found = [_status(m) for m in tree.observer.seen(lambda m: _status(m) is not None)]
    return [status for status in found if status and status["agent"]["pid"] == pid]


def _start_venue_a(tree: Tree, start_agent):
    """The real agent daemon as venue A, logged in with A's generated certificate only (no password)."""
    agent = start_agent(
        tree.url, flap_interval_s=3600, status_interval_s=1, extra=_agent_tls(tree, "changchun.nongan.main")
    )
    tree.observer.wait_for(lambda m: (_status(m) or {}).get("agent", {}).get("pid") == agent.process.pid, timeout=30)
    return agent


def _request(
    account: Account, base: str, command: str, response_topic: str, correlation: str, payload: bytes = b"{}"
) -> ReasonCode:
    properties = Properties(PacketTypes.PUBLISH)
    properties.ResponseTopic = response_topic
    properties.CorrelationData = correlation.encode()
    return account.publish(f"{base}/cmd/{command}", payload, properties=properties)


def test_a_forged_reply_is_refused_and_only_the_venues_own_reaches_the_province(tree: Tree, start_agent):
    agent = _start_venue_a(tree, start_agent)
    province, forger = tree.account("province.jilin"), tree.account("changchun.dehui.main")
    prefecture = tree.account("prefecture.changchun")
    try:
        token = f"hub-ping-{uuid.uuid4().hex[:8]}"
        reply_topic = VenueTopics(A).reply_topic(token)
        assert province.subscribe(f"vc/jilin/+/+/+/cmd/replies/{token}") in (0, 1)  # as the hub does
        forged = json.dumps({"schema": "venue-agent/reply/1", "ok": True, "command": "ping"}).encode()
        assert forger.publish(reply_topic, forged).value == NOT_AUTHORISED  # B under A's replies
        assert prefecture.publish(reply_topic, forged).value == NOT_AUTHORISED  # nor the prefecture
        assert not _request(province, A, "ping", reply_topic, token).is_failure
        reply = json.loads(province.wait_for(lambda m: m.topic == reply_topic).payload)
        assert reply["ok"] is True and reply["venue"]["county"] == "nongan" and reply["result"]["pong"] is True
        tree.observer.wait_for(lambda m: m.topic == reply_topic)
        assert len(province.seen(lambda m: m.topic == reply_topic)) == 1
        assert [m.payload for m in tree.observer.seen(lambda m: m.topic == reply_topic)] == [
            m.payload for m in province.seen(lambda m: m.topic == reply_topic)
        ], "no forged copy reached anyone"
    finally:
        for account in (province, forger, prefecture):
            account.close()
        assert agent.stop() == 0


def test_a_response_topic_at_another_venue_is_refused_by_the_agent_and_would_be_by_the_broker(tree: Tree, start_agent):
    agent = _start_venue_a(tree, start_agent)
    province, venue = tree.account("province.jilin"), tree.account("changchun.nongan.main")
    try:
        elsewhere = VenueTopics(B).reply_topic("evil")
        assert reply_topic_problem(elsewhere, VenueTopics(A)) is not None  # the agent's own rule
        assert not _request(province, A, "ping", elsewhere, "evil").is_failure
        token = f"after-{uuid.uuid4().hex[:6]}"
        assert not _request(province, A, "ping", VenueTopics(A).reply_topic(token), token).is_failure
        tree.observer.wait_for(lambda m: m.topic == VenueTopics(A).reply_topic(token))
        deadline = time.monotonic() + WAIT_S
        while not any((s.get("commands") or {}).get("refused") == 1 for s in _statuses(tree, agent.process.pid)):
            assert time.monotonic() < deadline, "the agent's status never counted the refusal"
            time.sleep(0.1)
        assert not tree.observer.seen(lambda m: m.topic == elsewhere), "the agent sent nothing there"
        assert "refused, no reply sent" in agent.log()
        # Had the agent tried, the broker would have dropped it: the venue may not write there.
        assert venue.publish(elsewhere, b'{"ok": true}').value == NOT_AUTHORISED
        assert not tree.observer.seen(lambda m: m.topic == elsewhere)
    finally:
        province.close()
        venue.close()
        assert agent.stop() == 0


def test_venue_agent_status_works_with_the_venues_own_certificate(tree: Tree, start_agent):
    agent = _start_venue_a(tree, start_agent)
    try:
        shown = subprocess.run(
            [sys.executable, "-m", "agent", "status", "-c", str(agent.config), "--json", "--timeout", "10"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        report = json.loads(shown.stdout)
        assert report["availability"] == "online", shown.stderr
        assert report["status"]["agent"]["pid"] == agent.process.pid
    finally:
        assert agent.stop() == 0


# -- the agent's Maximum Packet Size -----------------------------------------------------------


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _whole(packet: bytes) -> bool:
    """Whether `packet` holds at least one whole MQTT packet."""
    try:
        length, at = _varint(packet, 1)
    except IndexError:
        return False
    return len(packet) >= at + length


def connect_properties(packet: bytes) -> dict[int, object]:
    """The properties of an MQTT 5 CONNECT packet (the whole packet, fixed header first)."""
    assert packet[0] == 0x10, "not a CONNECT"
    _length, at = _varint(packet, 1)
    name_length = int.from_bytes(packet[at : at + 2], "big")
    at += 2 + name_length
    assert packet[at] == 5, "not MQTT 5"
    at += 1 + 1 + 2  # level, flags, keep alive
    size, at = _varint(packet, at)
    end, found = at + size, {}
    widths = {0x11: 4, 0x21: 2, 0x27: 4, 0x22: 2, 0x19: 1, 0x17: 1}
    while at < end:
        identifier = packet[at]
        at += 1
        if identifier in widths:
            found[identifier] = int.from_bytes(packet[at : at + widths[identifier]], "big")
            at += widths[identifier]
        else:  # user property, authentication: strings or binary, length-prefixed (pairs for 0x26)
            for _ in range(2 if identifier == 0x26 else 1):
                length = int.from_bytes(packet[at : at + 2], "big")
                at += 2 + length
            found.setdefault(identifier, True)
    return found


def test_the_agents_connect_carries_its_maximum_packet_size(start_agent):
    assert MAX_PACKET_BYTES > MAX_COMMAND_BYTES + 40_000  # an oversized command is still answered
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(30)
        agent = start_agent(f"mqtt://127.0.0.1:{server.getsockname()[1]}", flap_interval_s=3600)
        connection, _address = server.accept()
        with connection:
            connection.settimeout(10)
            packet = b""
            while not _whole(packet):
                chunk = connection.recv(4096)
                assert chunk, "the agent closed before sending a whole CONNECT"
                packet += chunk
        assert connect_properties(packet)[0x27] == MAX_PACKET_BYTES  # 0x27: Maximum Packet Size
    agent.ensure_dead()


def test_a_message_over_the_agents_maximum_is_not_delivered_to_it(tree: Tree, start_agent):
    agent = _start_venue_a(tree, start_agent)
    province = tree.account("province.jilin")
    try:
        replies = VenueTopics(A)
        assert province.subscribe(f"{A}/cmd/replies/#") in (0, 1)
        big = (
            b'{"args": {"x": "' + b"y" * (MAX_COMMAND_BYTES + 1000) + b'"}}'
        )  # over the command limit, under the packet's
        huge = b'{"args": {"x": "' + b"y" * MAX_PACKET_BYTES + b'"}}'  # over the packet limit
        for token, payload in (("big", big), ("huge", huge), ("small", b"{}")):
            assert not _request(province, A, "ping", replies.reply_topic(token), token, payload).is_failure
        small = json.loads(province.wait_for(lambda m: m.topic == replies.reply_topic("small")).payload)
        assert small["ok"] is True
        refused = json.loads(province.wait_for(lambda m: m.topic == replies.reply_topic("big")).payload)
        assert refused["error"]["code"] == "cmd.too_large"
        # Everything the agent received by the time it answered `small` is counted in a status after
        # it: had the broker delivered `huge` (sent before `small`), it would be the third.
        deadline = time.monotonic() + WAIT_S
        while not (
            done := [s for s in _statuses(tree, agent.process.pid) if (s.get("commands") or {}).get("answered")]
        ):
            assert time.monotonic() < deadline, "no status counted the answered ping"
            time.sleep(0.1)
        assert done[-1]["commands"]["received"] == 2
        assert not province.seen(lambda m: m.topic == replies.reply_topic("huge"))
    finally:
        province.close()
        assert agent.stop() == 0
