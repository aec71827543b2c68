"""`venue-hub passwd [NAME]`: read a password twice (without echo) and print its hash for a board
account's `password_hash` (stdlib scrypt; hub/web/passwords.py says why)."""

from __future__ import annotations

import sys

import click

from hub.web.passwords import hash_password


@click.command("passwd")
@click.argument("name", required=False)
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from one line of stdin (scripts).")
def passwd(name: str | None, from_stdin: bool) -> None:
    """Print a password hash for [[web.account]] password_hash."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password / 密码", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        click.echo("a password needs at least 8 characters / 密码至少 8 个字符", err=True)
        sys.exit(2)
    hashed = hash_password(password)
    click.echo(f'name = "{name}"\npassword_hash = "{hashed}"' if name else hashed)
