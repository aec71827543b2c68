"""`venue-hub acl -c HUB.toml [--out DIR]`: the broker's ACL, listener snippet and certificates, from the inventory.

Run again whenever the inventory changes: the ACL and the snippet are rewritten (they are derived),
the CA and every existing key and certificate are kept, missing ones are added, and the CRL is
renewed. docs/acl.md says what each file is for and how to do every step by hand.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from hub.acl.certificates import Pki, PkiError
from hub.acl.mosquitto import BrokerFiles, render_acl, render_listener
from hub.acl.rules import build_accounts, scope_levels
from hub.cli.common import EXIT_CRITICAL, config_option, inventory_or_exit, settings_or_exit

DEFAULT_BROKER_DIR = Path("/etc/mosquitto/venue-agent")


def _write_text(path: Path, text: str) -> None:
    """Replace `path` whole (a temporary file renamed over it), so mosquitto never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


@click.command("acl")
@config_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory of the CA, the certificates and the broker's files (default: broker-pki/ beside the config).",
)
@click.option(
    "--broker-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_BROKER_DIR,
    show_default=True,
    help="Where the broker host keeps the files of OUT/broker/ (the paths written into the snippet).",
)
@click.option("--broker-name", multiple=True, help="Another DNS name or IP address of the broker (repeatable).")
@click.option("--revoke", "revoked", multiple=True, metavar="ACCOUNT", help="Revoke ACCOUNT's certificate first.")
def acl(config_path: Path, out: Path | None, broker_dir: Path, broker_name: tuple[str, ...], revoked: tuple[str, ...]):
    """Generate the mosquitto ACL and per-account client certificates for the hub's scope (docs/acl.md)."""
    settings = settings_or_exit(config_path)
    inventory = inventory_or_exit(settings)
    scope = settings.hub.scope
    accounts = build_accounts(scope, inventory.venues)
    if not any(account.role == "venue" for account in accounts):
        click.echo(f"no venue of {scope} in the inventory / 清单中没有 {scope} 内的会场", err=True)
        sys.exit(EXIT_CRITICAL)
    root = out if out is not None else config_path.parent / "broker-pki"
    root.mkdir(parents=True, exist_ok=True)
    pki = Pki(root)
    try:
        if pki.ensure_ca(f"venue-agent CA {'.'.join(scope_levels(scope))}"):
            click.echo(f"new CA / 新建 CA: {pki.ca_cert} (keep {pki.ca_key} offline / 请离线保存 CA 私钥)")
        for account in revoked:
            moved = pki.revoke(account)
            click.echo(f"revoked / 已吊销 {account}: its files moved to {moved}")
        broker = pki.ensure_broker([settings.broker.host, *broker_name])
        results = [pki.ensure_client(account.name) for account in accounts]
        crl = pki.write_crl()
    except PkiError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_CRITICAL)
    files = BrokerFiles(broker_dir)
    _write_text(pki.broker_dir / files.acl.name, render_acl(accounts, f"{config_path.name} ({scope})"))
    from contract.broker import max_packet_size

    snippet = render_listener(
        files, settings.broker.host, settings.broker.port, max_packet_size(settings.hub.max_payload_bytes)
    )
    _write_text(pki.broker_dir / "venue-agent.conf", snippet)
    new = [r for r in [broker, *results] if r.action != "kept"]
    for result in new:
        click.echo(f"{result.action} / 已签发: {result.certificate}")
    click.echo(
        f"{len(accounts)} accounts, {len(new)} certificate(s) issued, {len(results) + 1 - len(new)} kept / "
        f"{len(accounts)} 个账号，新签发 {len(new)} 张，保留 {len(results) + 1 - len(new)} 张"
    )
    if crl is None:
        click.echo("the CA key is not here: the CRL was not renewed / CA 私钥不在，吊销列表未更新", err=True)
    stale = sorted(set(pki.issued_accounts()) - {account.name for account in accounts})
    if stale:
        click.echo(
            f"not in the inventory any more (no ACL lines; revoke with --revoke) / 已不在清单中: {', '.join(stale)}",
            err=True,
        )
    click.echo(f"broker files / 代理服务器文件: {pki.broker_dir} → {broker_dir} (docs/acl.md)")
