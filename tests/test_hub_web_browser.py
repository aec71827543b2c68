"""The board in a real headless browser (Debian's chromium through chromium-driver, driven by Selenium),
with real peers behind it: a real mosquitto, three real venue agents (`python -m agent run`) in two
prefectures plus one inventory venue that never reports, and the hub as a real process (`python -m hub
run` with `[web] listen`, so the ingest and the board run together as an office would run them).

Uplink snapshots are published by the test as an agent would (retained JSON envelopes on the `snapshot`
leaf, real JPEGs); the hub's ingest stores them (hub/ingest/store.py → hub/snapshots/store.py), and the
test reads back what it stored.

Screenshots of every page go to $BOARD_ARTIFACTS (default /tmp/venue-hub-board-artifacts).
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from hub.db.engine import open_database
from hub.web.passwords import hash_password
from sim.broker import Mosquitto
from sim.ports import free_port
from sim.venue import write_config
from tests.peers.agent_process import AgentProcess
from tests.peers.hub_process import HubProcess, wait_until, write_hub_config
from tests.test_hub_snapshot import envelope, raw, test_jpeg

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="Debian's chromium and chromium-driver are not installed"
)
ARTIFACTS = Path(os.environ.get("BOARD_ARTIFACTS", "/tmp/venue-hub-board-artifacts"))
PASSWORD = "board-test-password"

FLEET = {
    "jilin/changchun/_/main": ("changchun", "_", "长春市政府视频会议室"),
    "jilin/changchun/nongan/main": ("changchun", "nongan", "农安县政府视频会议室"),
    "jilin/siping/lishu/main": ("siping", "lishu", "梨树县政府视频会议室"),
}
NEVER = ("jilin/changchun/dehui/main", "德惠市政府视频会议室")
ALL = [*FLEET, NEVER[0]]


def agent_config(directory: Path, broker_url: str, prefecture: str, county: str, name: str) -> Path:
    path = write_config(
        directory, broker_url, county=county, name=name, status_interval_s=1, flap_interval_s=0.5, metrics_interval_s=5
    )
    text = path.read_text(encoding="utf-8").replace('prefecture = "changchun"', f'prefecture = "{prefecture}"')
    path.write_text(text, encoding="utf-8")
    return path


def write_inventory(path: Path) -> Path:
    rows = ["province,prefecture,county,id,name,liaison_name,liaison_phone"]
    for number, (key, name) in enumerate([*((k, v[2]) for k, v in FLEET.items()), NEVER]):
        _, prefecture, county, _ = key.split("/")
        rows.append(f"jilin,{prefecture},{county},main,{name},联络员{number},0431-8000{number:04d}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


class StoredSnapshots:
    """What the hub's own ingest stored of the snapshots the test published (read-only: the ingest
    routes the `snapshot` leaf to hub/snapshots/store.py itself)."""

    def __init__(self, database_url: str):
        self.engine = open_database(database_url)

    @property
    def stored(self) -> list[str]:
        from sqlalchemy import select

        from hub.snapshots.models import SnapshotRecord

        with self.engine.connect() as connection:
            return [key for (key,) in connection.execute(select(SnapshotRecord.venue_key)).all()]

    def close(self) -> None:
        self.engine.dispose()


@dataclass
class Board:
    url: str
    broker: Mosquitto
    agents: dict[str, AgentProcess]
    hub: HubProcess
    router: StoredSnapshots
    workdir: Path

    def restart(self, key: str) -> None:
        agent = self.agents[key]
        agent.ensure_dead()
        agent.start()


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    workdir = tmp_path_factory.mktemp("board")
    (workdir / "broker").mkdir()
    broker = Mosquitto(workdir=workdir / "broker").start()
    agents = {}
    for key, (prefecture, county, name) in FLEET.items():
        slug = key.replace("/", "-")
        config = agent_config(workdir / slug, broker.url, prefecture, county, name)
        agents[key] = AgentProcess(config, workdir / f"{slug}.log").start()
    database_url = f"sqlite:///{workdir / 'hub.sqlite3'}"
    port = free_port()
    hashed = hash_password(PASSWORD)
    accounts = "".join(
        f'\n[[web.account]]\nname = "{name}"\npassword_hash = "{hashed}"\nrole = "{role}"\nscope = "{scope}"\n'
        for name, role, scope in (
            ("province", "operator", "vc/jilin/#"),
            ("changchun", "viewer", "vc/jilin/changchun/#"),
        )
    )
    config = write_hub_config(
        workdir / "hub",
        broker.url,
        database_url,
        inventory=write_inventory(workdir / "inventory.csv"),
        group="board-test",
        extra=f'\n[web]\nlisten = "127.0.0.1:{port}"\nrollcall_deadline_s = 8\n{accounts}',
    )
    hub = HubProcess(config, workdir / "hub.log").start()
    router = None
    try:
        hub.wait_connected(timeout=120)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _healthy(url), 60, "the board answering /healthz")
        router = StoredSnapshots(database_url)
        yield Board(url, broker, agents, hub, router, workdir)
    finally:
        if router is not None:
            router.close()
        hub.ensure_dead()
        for agent in agents.values():
            agent.ensure_dead()
        broker.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: webdriver.Chrome, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def sign_in(driver: webdriver.Chrome, board: Board, account: str, then: str = "/") -> None:
    driver.delete_all_cookies()
    driver.get(f"{board.url}/login?next={then}")
    driver.find_element(By.ID, "name").send_keys(account)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait_until(lambda: "/login" not in driver.current_url or None, 15, f"{account} signed in")


def tile_class(driver: webdriver.Chrome, key: str) -> str:
    return driver.find_element(By.ID, f"t:{key}").get_attribute("class") or ""


def wait_online(board: Board, keys: list[str]) -> None:
    def online() -> bool:
        rows = httpx.get(f"{board.url}/healthz", timeout=5)  # the board is up
        assert rows.status_code == 200
        return all(_state(board, key) == "online" for key in keys)

    wait_until(online, 40, f"{keys} online")


def _state(board: Board, key: str) -> str | None:
    from sqlalchemy import select

    from hub.db.models import Venue

    with board.router.engine.connect() as connection:
        return connection.execute(select(Venue.state).where(Venue.key == key)).scalar_one_or_none()


def fetch_status(driver: webdriver.Chrome, path: str) -> tuple[int, str]:
    """GET `path` from inside the page (the browser's own cookies), → (status, body)."""
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(async r => done([r.status, await r.text()]))"
        ".catch(e => done([0, String(e)]));",
        path,
    )
    return int(result[0]), str(result[1])


def test_overview_lists_every_venue_in_scope(board: Board, browser: webdriver.Chrome) -> None:
    wait_online(board, list(FLEET))
    sign_in(browser, board, "province")
    for key in ALL:
        wait_until(lambda k=key: browser.find_elements(By.ID, f"t:{k}") or None, 10, f"tile {key}")
    assert "never" in tile_class(browser, NEVER[0])
    for key in FLEET:
        wait_until(lambda k=key: "offline" not in tile_class(browser, k) or None, 10, f"{key} not offline")
    assert "长春市政府视频会议室" in browser.page_source and "梨树县政府视频会议室" in browser.page_source
    shot(browser, "overview-zh")
    browser.find_element(By.ID, "lang-switch").click()
    wait_until(lambda: "Overview" in browser.page_source or None, 10, "English")
    shot(browser, "overview-en")
    browser.find_element(By.ID, "lang-switch").click()
    wait_until(lambda: "总览" in browser.page_source or None, 10, "Chinese again")


def test_killing_an_agent_turns_its_tile_offline_without_a_reload(board: Board, browser: webdriver.Chrome) -> None:
    key = "jilin/siping/lishu/main"
    wait_online(board, [key])
    sign_in(browser, board, "province")
    wait_until(lambda: "offline" not in tile_class(browser, key) or None, 10, "tile online first")
    browser.execute_script("window.notReloaded = 'still here';")
    board.agents[key].kill9()
    try:
        wait_until(lambda: "offline" in tile_class(browser, key) or None, 30, "the tile turning offline")
        assert browser.execute_script("return window.notReloaded") == "still here"
        selector = '[data-prefecture="siping"] [data-count="offline"]'  # counts are redone within a second
        wait_until(
            lambda: [e.text for e in browser.find_elements(By.CSS_SELECTOR, selector)] == ["1"] or None, 5, "count"
        )
        shot(browser, "overview-offline")
    finally:
        board.restart(key)
    wait_until(lambda: "offline" not in tile_class(browser, key) or None, 40, "the tile back online")
    assert browser.execute_script("return window.notReloaded") == "still here"


def test_a_roll_call_from_the_page_fills_every_row_and_marks_a_stopped_venue_silent(
    board: Board, browser: webdriver.Chrome
) -> None:
    stopped = "jilin/changchun/nongan/main"
    wait_online(board, list(FLEET))
    board.agents[stopped].signal(signal.SIGTERM)
    board.agents[stopped].process.wait(timeout=20)  # type: ignore[union-attr]
    try:
        sign_in(browser, board, "province", "/rollcall")
        browser.find_element(By.ID, "rollcall-start").click()
        wait_until(lambda: "/rollcall/live/" in browser.current_url or None, 15, "the live roll call page")
        shot(browser, "rollcall-running")
        table = browser.find_element(By.ID, "rollcall-rows")
        wait_until(lambda: table.get_attribute("data-finished") == "1" or None, 40, "the roll call finishing")
        rows = {key: browser.find_element(By.ID, f"r:{key}") for key in ALL}
        for key in set(FLEET) - {stopped}:
            assert "是" in rows[key].find_element(By.CLASS_NAME, "answered").text
            assert rows[key].find_element(By.CLASS_NAME, "verdict").text in ("pass", "warn", "fail", "unknown")
            assert rows[key].find_element(By.CLASS_NAME, "seconds").text
        for key in (stopped, NEVER[0]):
            assert "silent" in (rows[key].get_attribute("class") or "")
            assert "未应答" in rows[key].find_element(By.CLASS_NAME, "answered").text
        assert "联络员" in rows[NEVER[0]].find_element(By.CLASS_NAME, "liaison").text
        assert "未应答 2" in browser.find_element(By.ID, "rollcall-summary").text
        shot(browser, "rollcall-done")
        browser.get(f"{board.url}/rollcall")
        assert browser.find_elements(By.CSS_SELECTOR, "#history a"), "the result is kept"
    finally:
        board.restart(stopped)


def publish_snapshots(publisher: mqtt.Client) -> None:
    """A retained snapshot for every venue of the fleet, as its agent would publish one."""
    for number, (key, (prefecture, county, name)) in enumerate(FLEET.items()):
        venue = {
            "province": "jilin",
            "prefecture": prefecture,
            "county": county,
            "id": "main",
            "name": name,
            "level": "prefecture" if county == "_" else "county",
        }
        document = envelope(test_jpeg(480, 270 - 30 * number), venue=venue, id=str(uuid.uuid4()))
        publisher.publish(f"vc/{key}/snapshot", raw(document), qos=1, retain=True).wait_for_publish(5)


def connected_publisher(board: Board) -> mqtt.Client:
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect("127.0.0.1", board.broker.port)
    publisher.loop_start()
    return publisher


def test_the_patrol_wall_shows_a_snapshot_per_venue_that_publishes_one(board: Board, browser: webdriver.Chrome) -> None:
    publisher = connected_publisher(board)
    try:
        publish_snapshots(publisher)
        # a hostile one beside them: refused with a reason, the others stored
        publisher.publish("vc/jilin/siping/lishu/main/snapshot", b'{"schema": "venue-agent/snapshot/1"}', qos=1)
        wait_until(lambda: set(board.router.stored) >= set(FLEET) or None, 15, "every snapshot stored")
        wait_until(
            lambda: (
                "message on vc/jilin/siping/lishu/main/snapshot does not match the snapshot schema" in board.hub.log()
                or None
            ),
            10,
            "the hostile snapshot refused by the ingest",
        )
    finally:
        publisher.loop_stop()
        publisher.disconnect()
    sign_in(browser, board, "province", "/patrol")
    cards = browser.find_elements(By.CSS_SELECTOR, "#wall figure.card")
    assert {card.get_attribute("id") for card in cards} == {f"s:{key}" for key in FLEET}
    for card in cards:
        image = card.find_element(By.TAG_NAME, "img")
        wait_until(lambda i=image: browser.execute_script("return arguments[0].naturalWidth", i) or None, 10, "decoded")
        assert "第十七条" in card.text and "前排只检测到 2 位领导" in card.text  # Art. 17 and the Art. 15 advisory
    shot(browser, "patrol")
    browser.get(f"{board.url}/patrol?prefecture=siping")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#wall figure.card")) == 1
    browser.get(f"{board.url}/venue/jilin/changchun/nongan/main")
    assert browser.find_element(By.ID, "snapshot")
    assert "联络员1" in browser.find_element(By.ID, "contacts").text
    shot(browser, "venue")
    for page in ("review", "evaluation"):
        browser.get(f"{board.url}/{page}")
        shot(browser, page)


def test_a_prefecture_account_cannot_see_or_fetch_another_prefectures_venue(
    board: Board, browser: webdriver.Chrome
) -> None:
    other = "jilin/siping/lishu/main"
    publisher = connected_publisher(board)  # its own snapshots: this test must not depend on another's
    try:
        publish_snapshots(publisher)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
    wait_until(lambda: other in board.router.stored or None, 30, "a snapshot of the other prefecture")
    from sqlalchemy import select

    from hub.snapshots.models import SnapshotRecord

    with board.router.engine.connect() as connection:
        ids = dict(connection.execute(select(SnapshotRecord.venue_key, SnapshotRecord.id)).all())
    sign_in(browser, board, "changchun")
    assert browser.find_elements(By.ID, "t:jilin/changchun/nongan/main")
    assert not browser.find_elements(By.ID, f"t:{other}")
    assert "梨树" not in browser.page_source and "siping" not in browser.page_source
    shot(browser, "overview-prefecture")
    status, body = fetch_status(browser, "/api/venues")
    assert status == 200
    assert {row["venue"] for row in json.loads(body)} == {k for k in ALL if k.startswith("jilin/changchun/")}
    for path in (f"/venue/{other}", f"/api/venues/{other}", f"/snapshots/{ids[other]}.jpg"):
        assert fetch_status(browser, path)[0] == 404, path
    assert fetch_status(browser, "/venue/jilin/nowhere/x/main")[0] == 404  # the same answer as for no venue
    assert fetch_status(browser, f"/snapshots/{ids['jilin/changchun/nongan/main']}.jpg")[0] == 200
    browser.get(f"{board.url}/venue/{other}")
    shot(browser, "refused-venue")
    browser.get(f"{board.url}/patrol")
    assert {c.get_attribute("id") for c in browser.find_elements(By.CSS_SELECTOR, "#wall figure.card")} <= {
        f"s:{k}" for k in ALL if k.startswith("jilin/changchun/")
    }


def test_an_action_without_the_csrf_token_is_refused(board: Board, browser: webdriver.Chrome) -> None:
    sign_in(browser, board, "province", "/rollcall")
    before = len(browser.find_elements(By.CSS_SELECTOR, "#history a"))
    runs_before = len(browser.find_elements(By.CSS_SELECTOR, "main ul a"))  # roll calls this process ran
    refused = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/rollcall', {method: 'POST', credentials: 'same-origin', body: new URLSearchParams({conference: ''})})"
        ".then(async r => done([r.status, await r.text()]));"
    )
    assert refused[0] == 403 and "CSRF" in refused[1]
    wrong = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/rollcall', {method: 'POST', credentials: 'same-origin', body: new URLSearchParams({csrf: 'x'})})"
        ".then(r => done(r.status));"
    )
    assert wrong == 403
    time.sleep(1)
    browser.get(f"{board.url}/rollcall")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history a")) == before
    assert len(browser.find_elements(By.CSS_SELECTOR, "main ul a")) == runs_before, "no roll call was started"
    # and with the token the page's form carries, the same action is accepted (so the refusal was the token's)
    token = browser.find_element(By.CSS_SELECTOR, 'meta[name="csrf-token"]').get_attribute("content")
    logout = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/logout', {method: 'POST', credentials: 'same-origin', redirect: 'manual',"
        " headers: {'X-CSRF-Token': arguments[0]}}).then(r => done(r.type));",
        token,
    )
    assert logout == "opaqueredirect"


def test_the_board_process_survives_bad_input(board: Board) -> None:
    """Hostile requests get clear answers and the board (and the ingest beside it) keep running."""
    client = httpx.Client(base_url=board.url, timeout=10)
    assert client.post("/login", content=b"\xff" * 100_000).status_code == 413
    assert client.get("/api/venues").status_code == 401
    assert client.get("/login?next=//evil.example").status_code == 200
    page = client.get("/login")
    nonce_cookie = client.cookies.get("board_csrf")
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    bad = client.post("/login", data={"csrf": token, "name": "province", "password": "wrong", "next": "//evil.example"})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text and nonce_cookie
    good = client.post(
        "/login",
        data={"csrf": token, "name": "province", "password": PASSWORD, "next": "//evil"},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/"
    assert client.get("/api/venues").status_code == 200
    client.cookies.set("board_session", "forged.deadbeef")
    assert client.get("/api/venues").status_code == 401
    assert client.get("/healthz").json()["ok"] is True
    assert board.hub.alive
    metrics = client.get("/metrics").text
    assert "venue_hub_board_csrf_refused_total" in metrics and "venue_hub_ingest_messages" in metrics


def teardown_module() -> None:
    """Leave the artefacts directory listing what was shot, for people looking at them."""
    if ARTIFACTS.exists():
        (ARTIFACTS / "README.txt").write_text(
            "Screenshots of the board taken by tests/test_hub_web_browser.py\n"
            + "\n".join(sorted(p.name for p in ARTIFACTS.glob("*.png")))
            + "\n",
            encoding="utf-8",
        )


def _pushed(board: Board, key: str) -> dict:
    """What the venue agent itself stored of the offices' pushes (its state_dir/pushed_schedule.json)."""
    path = board.workdir / key.replace("/", "-") / "state" / "pushed_schedule.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"offices": {}}


def test_an_operator_pushes_a_conference_from_the_board_and_withdraws_it(
    board: Board, browser: webdriver.Chrome
) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    wait_online(board, list(FLEET))
    start = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=3)
    sign_in(browser, board, "province", "/schedule")
    browser.find_element(By.ID, "title").send_keys("全省安全生产电视电话会议")
    for field, value in (("date", f"{start:%Y-%m-%d}"), ("time", "09:30")):  # typed the way the widget stores it
        browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.ID, field), value)
    browser.find_element(By.ID, "conference-id").send_keys("board-push-1")
    browser.find_element(By.ID, "schedule-push").click()
    wait_until(lambda: browser.find_elements(By.ID, "schedule-result") or None, 40, "the push's result")
    shot(browser, "schedule-pushed")
    accepted = {key: browser.find_element(By.ID, f"p:{key}").get_attribute("data-accepted") for key in ALL}
    assert accepted == {**dict.fromkeys(FLEET, "yes"), NEVER[0]: "silent"}
    assert "已接收 3" in browser.find_element(By.ID, "c:board-push-1").text
    for key in FLEET:  # every agent holds it in the province's slot
        stored = _pushed(board, key)["offices"]["vc/jilin/#"]
        assert [(c["id"], c["title"], c["start"][11:16]) for c in stored] == [
            ("board-push-1", "全省安全生产电视电话会议", "09:30")
        ]
        assert stored[0]["start"].endswith("+08:00")

    sign_in(browser, board, "changchun", "/schedule")  # a prefecture viewer sees it as the province's, read-only
    assert "全省安全生产电视电话会议" in browser.find_element(By.ID, "schedule-others").text
    assert not browser.find_elements(By.ID, "schedule-form") and not browser.find_elements(By.ID, "c:board-push-1")

    sign_in(browser, board, "province", "/schedule")
    browser.find_element(By.CSS_SELECTOR, "#c\\:board-push-1 button.withdraw").click()
    wait_until(lambda: browser.find_elements(By.ID, "schedule-result") or None, 40, "the withdrawal's result")
    assert not browser.find_elements(By.ID, "c:board-push-1")
    for key in FLEET:
        assert "vc/jilin/#" not in _pushed(board, key)["offices"]
    browser.find_element(By.ID, "title").send_keys("x")
    browser.execute_script("arguments[0].value = ''", browser.find_element(By.ID, "date"))
    browser.execute_script("document.getElementById('schedule-form').noValidate = true")
    browser.find_element(By.ID, "schedule-push").click()
    wait_until(lambda: browser.find_elements(By.ID, "schedule-problems") or None, 15, "the form's problem")
    assert "YYYY-MM-DD" in browser.find_element(By.ID, "schedule-problems").text


def _venue_of(key: str) -> dict:
    _, prefecture, county, _ = key.split("/")
    name = FLEET[key][2] if key in FLEET else key
    level = "prefecture" if county == "_" else "county"
    return {"province": "jilin", "prefecture": prefecture, "county": county, "id": "main", "name": name, "level": level}


def test_the_patrol_wall_shows_a_new_picture_without_a_reload(board: Board, browser: webdriver.Chrome) -> None:
    key = "jilin/siping/lishu/main"
    sign_in(browser, board, "province", "/patrol")
    browser.execute_script("window.boardMarker = 'same page'")
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect("127.0.0.1", board.broker.port)
    publisher.loop_start()
    fresh = str(uuid.uuid4())
    try:
        document = envelope(test_jpeg(320, 180), venue=_venue_of(key), id=fresh)
        publisher.publish(f"vc/{key}/snapshot", raw(document), qos=1, retain=True).wait_for_publish(5)
    finally:
        publisher.loop_stop()
        publisher.disconnect()

    def shows_fresh() -> bool | None:
        try:  # the card may be replaced while it is read: the page swaps whole figures
            cards = browser.find_elements(By.ID, f"s:{key}")
            return (
                bool(cards) and fresh in (cards[0].find_element(By.TAG_NAME, "img").get_attribute("src") or "")
            ) or None
        except StaleElementReferenceException:
            return None

    wait_until(shows_fresh, 30, "the new picture on the open wall")
    assert browser.execute_script("return window.boardMarker") == "same page", "the page was reloaded"
    card = browser.find_element(By.ID, f"s:{key}")
    assert "第十七条" in card.text and "前排只检测到 2 位领导" in card.text  # drawn as the page draws it
    shot(browser, "patrol-live")


def test_a_venue_first_heard_while_the_overview_is_open_gets_its_tile(board: Board, browser: webdriver.Chrome) -> None:
    key = "jilin/changchun/jiutai/main"
    sign_in(browser, board, "province", "/")
    assert not browser.find_elements(By.ID, f"t:{key}")
    browser.execute_script("window.boardMarker = 'same page'")
    config = agent_config(board.workdir / "jiutai", board.broker.url, "changchun", "jiutai", "九台区政府视频会议室")
    newcomer = AgentProcess(config, board.workdir / "jiutai.log").start()
    try:
        wait_until(lambda: browser.find_elements(By.ID, f"t:{key}") or None, 40, "the newcomer's tile")
        tile = browser.find_element(By.ID, f"t:{key}")
        assert tile.text == "九台区政府视频会议室"
        assert tile.find_element(By.XPATH, "ancestor::section").get_attribute("data-prefecture") == "changchun"
        assert browser.execute_script("return window.boardMarker") == "same page", "the page was reloaded"
        shot(browser, "overview-newcomer")
    finally:
        newcomer.ensure_dead()


def test_a_folded_overview_keeps_its_counts_live_and_unfolds_a_prefecture(
    board: Board, browser: webdriver.Chrome
) -> None:
    """A large subtree opens folded by prefecture (`?fold=1` asks for it with this small fleet): counts
    only, no tiles; a venue going offline changes its folded prefecture's count; unfolding one fetches
    its tiles, which then stay live."""
    folded_away, unfolded = "jilin/siping/lishu/main", "jilin/changchun/nongan/main"
    wait_online(board, [folded_away, unfolded])
    sign_in(browser, board, "province", "/?fold=1")
    assert not browser.find_elements(By.CSS_SELECTOR, "a.t"), "a folded overview draws no tiles"
    browser.execute_script("window.boardMarker = 'same page'")
    count = '[data-prefecture="siping"] [data-count="offline"]'
    board.agents[folded_away].kill9()
    try:
        wait_until(
            lambda: [e.text for e in browser.find_elements(By.CSS_SELECTOR, count)] == ["1"] or None, 30, "count"
        )
        browser.find_element(By.CSS_SELECTOR, '[data-prefecture="changchun"] button.unfold').click()
        wait_until(lambda: browser.find_elements(By.ID, f"t:{unfolded}") or None, 15, "changchun's tiles")
        assert not browser.find_elements(By.ID, f"t:{folded_away}")  # siping stays folded
        assert "offline" not in tile_class(browser, unfolded)
        shot(browser, "overview-folded")
    finally:
        board.restart(folded_away)
    wait_until(lambda: not browser.find_elements(By.CSS_SELECTOR, count) or None, 40, "siping's count back")
    board.agents[unfolded].kill9()
    try:
        wait_until(lambda: "offline" in tile_class(browser, unfolded) or None, 30, "the unfolded tile going offline")
    finally:
        board.restart(unfolded)
    assert browser.execute_script("return window.boardMarker") == "same page"
