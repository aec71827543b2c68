"""The board's config and its gate, without a browser: `[web]` and accounts as strict as the rest of the
config (errors name the key, the file and the line), sessions that expire and end with a password
change, the CSRF check, and the proxy header believed only from trusted addresses."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from starlette.testclient import TestClient

from contract.config_error import ConfigError
from hub.config.load import load_settings
from hub.db.engine import open_database
from hub.db.models import Venue
from hub.web.app import create_app
from hub.web.passwords import hash_password, verify_password
from hub.web.sessions import Signer

PASSWORD = "correct horse battery"
HASH = hash_password(PASSWORD)


def write(directory: Path, web: str, name: str = "hub.toml") -> Path:
    path = directory / name
    path.write_text(
        f'[hub]\nscope = "vc/jilin/#"\ndatabase = "sqlite:///hub.sqlite3"\n\n[broker]\nurl = "mqtt://127.0.0.1:1"\n\n{web}',
        encoding="utf-8",
    )
    return path


ACCOUNTS = f"""[web]
listen = "127.0.0.1:8080"

[[web.account]]
name = "province"
password_hash = "{HASH}"
role = "operator"
scope = "vc/jilin/#"

[[web.account]]
name = "changchun"
password_hash = "{HASH}"
role = "viewer"
scope = "vc/jilin/changchun/#"

[[web.account]]
name = "sso-only"
role = "viewer"
scope = "vc/jilin/siping/#"

[web.proxy]
trusted = ["10.0.0.0/8"]
"""


def issues(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return [issue.render(caught.value.path) for issue in caught.value.issues]


def test_hashes_verify_and_are_salted() -> None:
    assert verify_password(PASSWORD, HASH) and not verify_password("wrong", HASH)
    assert hash_password(PASSWORD) != HASH
    assert not verify_password(PASSWORD, "scrypt$1$1$1$AA==$AA==")  # a bad stored hash never matches


@pytest.mark.parametrize(
    ("web", "expected"),
    [
        ('[web]\nlisten = "127.0.0.1:8080"\nlisen = 1\n', r"hub.toml:10: web.lisen: unknown key"),
        ('[web]\nlisten = "localhost"\n', r"hub.toml:9: web.listen: must be HOST:PORT"),
        ('[web]\nlisten = "127.0.0.1:8080"\n', r"web.listen: the board is served but no \[\[web.account\]\]"),
        (
            '[[web.account]]\nname = "x"\npassword_hash = "plain-text"\nrole = "viewer"\nscope = "vc/jilin/#"\n',
            r"hub.toml:10: web.account.0.password_hash: not a password hash",
        ),
        (
            f'[[web.account]]\nname = "x"\npassword_hash = "{HASH}"\nrole = "admin"\nscope = "vc/jilin/#"\n',
            r"hub.toml:11: web.account.0.role: Input should be 'viewer' or 'operator'",
        ),
        (
            f'[[web.account]]\nname = "x"\npassword_hash = "{HASH}"\nrole = "viewer"\nscope = "vc/heilongjiang/#"\n',
            r"hub.toml:12: web.account.0.scope: vc/heilongjiang/# lies outside hub.scope",
        ),
        (
            '[web.proxy]\ntrusted = ["not-an-address"]\n',
            r"hub.toml:9: web.proxy.trusted: 'not-an-address' is not an IP",
        ),
        ("[snapshots]\nkeep_selftest = -1\n", r"snapshots.keep_selftest: Input should be greater than or equal to 0"),
    ],
)
def test_bad_web_config_is_named_with_key_and_line(tmp_path: Path, web: str, expected: str) -> None:
    found = issues(write(tmp_path, web))
    assert any(re.search(expected, line) for line in found), found


def test_the_accounts_file_is_checked_as_strictly_and_named(tmp_path: Path) -> None:
    (tmp_path / "people.toml").write_text(
        f'[[account]]\nname = "a"\npassword_hash = "{HASH}"\nrole = "viewer"\nscope = "vc/jilin/#"\ncolour = "red"\n',
        encoding="utf-8",
    )
    found = issues(write(tmp_path, '[web]\nlisten = "127.0.0.1:8080"\naccounts_file = "people.toml"\n'))
    assert found == [
        f"{tmp_path / 'people.toml'}:6: account.0.colour: unknown key (check the spelling; see docs/hub.md)"
    ]
    (tmp_path / "people.toml").write_text(
        f'[[account]]\nname = "province"\npassword_hash = "{HASH}"\nrole = "viewer"\nscope = "vc/jilin/#"\n',
        encoding="utf-8",
    )
    with_file = ACCOUNTS.replace(
        'listen = "127.0.0.1:8080"\n', 'listen = "127.0.0.1:8080"\naccounts_file = "people.toml"\n'
    )
    found = issues(write(tmp_path, with_file))
    assert "account name given twice" in found[0]


@pytest.fixture
def client(tmp_path: Path):
    settings = load_settings(write(tmp_path, ACCOUNTS))
    engine = open_database(settings.hub.database)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for key in ("jilin/changchun/nongan/main", "jilin/siping/lishu/main"):
            _, prefecture, county, venue = key.split("/")
            connection.execute(
                insert(Venue).values(
                    key=key,
                    province="jilin",
                    prefecture=prefecture,
                    county=county,
                    venue_id=venue,
                    state="never",
                    changed_at=now,
                )
            )
    app = create_app(settings, engine, None)
    with TestClient(app, client=("192.0.2.1", 40000)) as test_client:
        yield test_client, app


def csrf_of(client: TestClient) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD):
    return client.post(
        "/login", data={"name": name, "password": password, "csrf": csrf_of(client)}, follow_redirects=False
    )


def test_sign_in_and_refusals(client) -> None:
    client, _ = client
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=%2F"
    assert sign_in(client, "changchun", "wrong").status_code == 401
    assert sign_in(client, "nobody").status_code == 401  # same answer: no account enumeration
    assert sign_in(client, "sso-only", "").status_code == 401  # no hash: only through the proxy
    assert sign_in(client, "changchun").status_code == 303
    assert [row["venue"] for row in client.get("/api/venues").json()] == ["jilin/changchun/nongan/main"]
    assert client.get("/venue/jilin/siping/lishu/main").status_code == 404
    assert client.post("/rollcall", data={"csrf": csrf_of(client)}).status_code == 403  # a viewer
    assert client.post("/logout").status_code == 403  # no token
    assert client.post("/logout", data={"csrf": csrf_of(client)}, follow_redirects=False).status_code == 303


def test_sessions_expire_and_end_with_a_password_change(client) -> None:
    client, app = client
    board = app.state.board
    assert sign_in(client, "province").status_code == 303
    cookie = client.cookies.get("board_session")
    later = Signer(board.signer._secret, board.signer.ttl_s, clock=lambda: datetime.now(UTC).timestamp() + 9 * 3600)
    assert board.signer.read(cookie) is not None and later.read(cookie) is None and later.expired(cookie)
    account = board.accounts["province"]
    board.accounts["province"] = account.model_copy(update={"password_hash": hash_password("a new password")})
    assert client.get("/api/venues").status_code == 401


def test_the_proxy_header_is_believed_only_from_trusted_addresses(client) -> None:
    client, app = client
    assert client.get("/api/venues", headers={"X-Remote-User": "province"}).status_code == 401  # untrusted
    with TestClient(app, client=("10.1.2.3", 40000)) as proxied:
        rows = proxied.get("/api/venues", headers={"X-Remote-User": "sso-only"}).json()
        assert [row["venue"] for row in rows] == ["jilin/siping/lishu/main"]
        refused = proxied.get("/api/venues", headers={"X-Remote-User": "stranger"})
        assert refused.status_code == 403 and refused.json()["error"] == "proxy_user_unknown"
        assert proxied.get("/api/venues").status_code == 401  # no header, no session
