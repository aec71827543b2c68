"""`venue-hub config check`: the example passes; every kind of mistake is named with its line and exit 2.

Through click's runner on real files: there is no peer to start, the command reads files only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli.main import main

REPO = Path(__file__).resolve().parents[1]
MINIMAL = """\
[hub]
scope = "vc/jilin/changchun/#"
database = "sqlite:///hub.sqlite3"

[broker]
url = "mqtt://127.0.0.1:1883"
"""


def check(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["config", "check", "-c", str(path)])
    return result.exit_code, result.output


def write(tmp_path: Path, text: str, name: str = "hub.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_and_inventory_pass(tmp_path: Path) -> None:
    for name in ("hub.example.toml", "hub-inventory.example.csv"):
        shutil.copy(REPO / "config" / name, tmp_path / name)
    code, output = check(tmp_path / "hub.example.toml")
    assert code == 0, output
    assert output.startswith("OK ") and "5 venue(s) in the inventory" in output


def test_minimal_config_resolves_sqlite_path_from_the_file(tmp_path: Path) -> None:
    code, output = check(write(tmp_path, MINIMAL))
    assert code == 0, output
    assert f"sqlite:///{tmp_path.resolve()}/hub.sqlite3" in output


@pytest.mark.parametrize(
    ("change", "line", "field", "words"),
    [
        (("[hub]\n", "[hub]\nscopes = 1\n"), 2, "hub.scopes", "unknown key"),
        (('scope = "vc/jilin/changchun/#"', 'scope = "vc/jilin/changchun"'), 2, "hub.scope", "must end in /#"),
        (('scope = "vc/jilin/changchun/#"', 'scope = "vc/Jilin/#"'), 2, "hub.scope", "'Jilin'"),
        (('scope = "vc/jilin/changchun/#"', 'scope = "vc/jilin/a/b/c/#"'), 2, "hub.scope", "a prefix and a province"),
        (('url = "mqtt://127.0.0.1:1883"', 'url = "http://x"'), 6, "broker.url", "mqtt:// or mqtts://"),
        (
            ('url = "mqtt://127.0.0.1:1883"', 'url = "mqtt://x"\npassword = "a"\npassword_env = "B"'),
            5,
            "broker",
            "at most one password source",
        ),
        (("[broker]\n", '[broker]\ntopic_prefix = "vx"\n'), None, "", "broker.topic_prefix is 'vx'"),
        (("\n[broker]", '\ngroup = "a b"\n[broker]'), 5, "hub.group", "letters, digits"),
        (("[hub]\n", "[hub]\nsilent_after_intervals = 0.5\n"), 2, "hub.silent_after_intervals", "greater than"),
        (("", '[[sink]]\nname = "x"\nkind = "fax"\nurl = "https://x"\n'), 9, "sink.0.kind", "'webhook'"),
    ],
)
def test_mistakes_are_named_with_their_line(tmp_path: Path, change, line, field, words) -> None:
    old, new = change
    text = MINIMAL + new if old == "" else MINIMAL.replace(old, new, 1)
    path = write(tmp_path, text)
    code, output = check(path)
    assert code == 2, output
    where = f"{path}:{line}: " if line else f"{path}: "
    assert any(text.startswith(where + field) and words in text for text in output.splitlines()), output


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    code, output = check(write(tmp_path, "[hub\nscope = 1\n"))
    assert code == 2 and "not valid TOML" in output and ":1:" in output
    code, output = check(tmp_path / "absent.toml")
    assert code == 2 and "not a regular file" in output


def test_unsupported_database_url(tmp_path: Path) -> None:
    code, output = check(write(tmp_path, MINIMAL.replace("sqlite:///hub.sqlite3", "mysql://h/db")))
    assert code == 2 and "hub.database: unsupported database 'mysql'" in output


@pytest.mark.parametrize(
    ("csv_text", "words"),
    [
        ("province,prefecture,id,name\n", "missing column(s) county"),
        ("province,prefecture,county,id,name,liaison_phon\n", "unknown column(s) liaison_phon"),
        (
            "province,prefecture,county,id,name,liaison_phone\njilin,changchun,nongan,main,农安,call me\n",
            ":2: liaison_phone",
        ),
        (
            "province,prefecture,county,id,name\njilin,changchun,nongan,main,a\njilin,changchun,nongan,main,b\n",
            ":3: venue jilin/changchun/nongan/main is listed twice (first on line 2)",
        ),
        ("province,prefecture,county,id,name\njilin,_,nongan,main,a\n", ":2: prefecture"),
        ("province,prefecture,county,id,name\njilin,changchun,nongan,main,a,extra\n", "more fields than the header"),
    ],
)
def test_inventory_mistakes_are_named_with_their_row(tmp_path: Path, csv_text: str, words: str) -> None:
    write(tmp_path, csv_text, "inventory.csv")
    code, output = check(write(tmp_path, MINIMAL.replace("[broker]", 'inventory = "inventory.csv"\n\n[broker]')))
    assert code == 2 and words in output, output


def test_toml_inventory_and_venues_outside_the_scope(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[[venue]]\nprovince = "jilin"\nprefecture = "changchun"\ncounty = "nongan"\nid = "main"\nname = "农安"\n'
        'liaison_name = "张"\nliaison_phone = "13904310001"\n'
        '[[venue]]\nprovince = "jilin"\nprefecture = "siping"\ncounty = "lishu"\nid = "main"\nname = "梨树"\n',
        "inventory.toml",
    )
    code, output = check(write(tmp_path, MINIMAL.replace("[broker]", 'inventory = "inventory.toml"\n\n[broker]')))
    assert code == 0, output
    assert "1 venue(s) in the inventory (1 outside the scope, ignored)" in output
