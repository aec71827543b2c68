"""The board's overview with 10,000 venues: time to first render, bytes sent, and the delay from an
event reaching the hub to the tile changing in a real browser (p50, p99), while the hub benchmark's
10,000-venue fleet (bench/hub_fleet.py) sends its real traffic.

Run: .venv/bin/python -m bench.board_overview [--venues 10000] [--changes 60] [--scale 1]

Set-up, all real and on loopback: one mosquitto (`sim.broker.Mosquitto`); one `venue-hub run` with
`[web] listen` (the ingest and the board in one process, on SQLite, as an office runs it); the fleet
comes online (retained availability and status for every venue) and then sends its traffic (status
every 30 s, metrics every 60 s, an event every 300 s per venue, × `--scale`) for the whole measurement;
Debian's headless chromium through chromium-driver (Selenium), signed in as a province operator.

1. **First render**: the overview loaded `--loads` times in the browser, folded by prefecture (`/?fold=1`,
   what a subtree past 1,500 venues opens as) and with every tile (`/?fold=0`); navigation timing from
   request start to DOMContentLoaded (the tiles are server-rendered: at DOMContentLoaded they are all there),
   and the bytes on the wire (gzip, as the browser asks) and uncompressed. Anchor, in the same run:
   `hub.views.venues.venue_rows` — what `venue-hub venues --json` reads — over the same database, so the
   ratio says how much the page costs beyond reading the venues at all.
2. **Event → tile**: `--changes` times a random venue's availability goes `offline` (as its Will
   would), half a second apart; a MutationObserver in the page notes when that tile's class changes.
   The delay measured is from the hub storing the change (`availability_transition.at`, the time it set
   `changed_at`: the event has reached the hub) to the tile changing (both clocks are this machine's);
   publish → tile is printed beside it, which adds however far the ingest is behind the fleet. Each venue
   is brought back `online` afterwards.
3. `--mode run` (default) serves the board inside `venue-hub run`, sharing its process (and GIL) with
   the ingest; `--mode serve` runs `venue-hub run` without the board and `venue-hub serve` beside it.

Targets (issue 13): first render ≤ 1 s, update p99 ≤ 2 s.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from bench.hub_fleet import Fleet
from hub.web.passwords import hash_password
from sim.broker import Mosquitto
from sim.ports import free_port

PASSWORD = "bench-password"
OBSERVER = """
window.tileChanges = [];
new MutationObserver((records) => {
  const now = Date.now();
  for (const r of records) if (r.attributeName === 'class' && r.target.id.startsWith('t:'))
    window.tileChanges.push([r.target.id.slice(2), r.target.className, now]);
}).observe(document.getElementById('tree'), {attributes: true, subtree: true, attributeFilter: ['class']});
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def browser(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
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
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def wait(probe, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venues", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=60)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--mode",
        choices=("run", "serve"),
        default="run",
        help="run: the board inside venue-hub run; serve: venue-hub run without it plus venue-hub serve",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="board-bench-"))
    (work / "broker").mkdir()
    broker = Mosquitto(workdir=work / "broker").start()
    port = free_port()
    config = work / "hub.toml"
    config.write_text(
        f"""[hub]
scope = "vc/jilin/#"
database = "sqlite:///{work / "hub.sqlite3"}"
group = "board-bench"
default_status_interval_s = {30 / args.scale}
log_level = "warning"

[broker]
url = "{broker.url}"

[web]
listen = "127.0.0.1:{port}"

[[web.account]]
name = "province"
password_hash = "{hash_password(PASSWORD)}"
role = "operator"
scope = "vc/jilin/#"
""",
        encoding="utf-8",
    )
    log = (work / "hub.log").open("wb")
    processes = []
    if args.mode == "run":
        processes.append(
            subprocess.Popen([sys.executable, "-m", "hub", "run", "-c", str(config)], stdout=log, stderr=log)
        )
    else:  # the ingest without the board, the board in its own process (its own GIL)
        ingest = work / "ingest.toml"
        ingest.write_text(config.read_text(encoding="utf-8").replace(f'listen = "127.0.0.1:{port}"\n', ""), "utf-8")
        for command, path in (("run", ingest), ("serve", config)):
            processes.append(
                subprocess.Popen([sys.executable, "-m", "hub", command, "-c", str(path)], stdout=log, stderr=log)
            )
    fleet = None
    driver = None
    stop = threading.Event()
    url = f"http://127.0.0.1:{port}"
    try:
        wait(lambda: _get(f"{url}/healthz"), 60, "the board")
        fleet = Fleet(broker.port, args.venues)
        fleet.online()
        wait(lambda: (_get(f"{url}/healthz") or {}).get("venues", 0) >= args.venues, 300, "every venue in the board")
        load = threading.Thread(target=fleet.run, args=(3600, args.scale, stop), daemon=True)
        load.start()
        driver = browser(work / "profile")
        driver.get(f"{url}/login")
        driver.find_element(By.ID, "name").send_keys("province")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login-submit").click()
        timings = {}
        for fold in ("1", "0"):  # folded by prefecture (the default past 1,500 venues), and every tile
            renders = []
            for _ in range(args.loads):
                driver.get(f"{url}/?fold={fold}")
                timing = driver.execute_script(
                    "const t = performance.getEntriesByType('navigation')[0];"
                    "return [t.requestStart, t.responseStart, t.responseEnd, t.domContentLoadedEventEnd,"
                    " t.transferSize, t.decodedBodySize];"
                )
                renders.append(timing)
            timings[fold] = renders
        folded_render = [(t[3] - t[0]) / 1000 for t in timings["1"]]
        folded_wire, folded_body = timings["1"][-1][4], timings["1"][-1][5]
        renders = timings["0"]
        wait(lambda: len(driver.find_elements(By.CSS_SELECTOR, "a.t")) >= args.venues, 60, "the overview")
        first_render = [(t[3] - t[0]) / 1000 for t in renders]
        server_time = [(t[1] - t[0]) / 1000 for t in renders]
        wire, body = renders[-1][4], renders[-1][5]
        tiles = len(driver.find_elements(By.CSS_SELECTOR, "a.t"))

        # the anchor: reading the venues as `venue-hub venues --json` does
        from hub.config.load import load_settings
        from hub.db.engine import open_database
        from hub.views.venues import venue_rows

        settings = load_settings(config)
        engine = open_database(settings.hub.database)
        anchor = []
        for _ in range(3):
            started = time.perf_counter()
            venue_rows(engine, settings.hub)
            anchor.append(time.perf_counter() - started)

        # event → tile
        driver.execute_script(OBSERVER)
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        publisher.connect("127.0.0.1", broker.port)
        publisher.loop_start()
        keys = random.Random(13).sample([f"{v.topics.base.removeprefix('vc/')}" for v in fleet.venues], args.changes)
        sent: dict[str, float] = {}
        for key in keys:
            sent[key] = time.time()
            publisher.publish(f"vc/{key}/availability", b"offline", qos=1, retain=True)
            time.sleep(0.5)

        def offline_seen() -> dict[str, float]:
            found: dict[str, float] = {}
            for key, css, at in driver.execute_script("return window.tileChanges"):
                if "offline" in css and key in sent and key not in found:
                    found[key] = at / 1000
            return found

        deadline = time.monotonic() + 90
        while len(seen := offline_seen()) < len(keys) and time.monotonic() < deadline:
            time.sleep(1)
        stored = _offline_at(engine, keys)  # when the hub stored each offline (changed_at = that time)
        health = _get(f"{url}/healthz") or {}
        tile_events = driver.execute_script("return window.boardTileUpdates || 0")
        for key in keys:
            publisher.publish(f"vc/{key}/availability", b"online", qos=1, retain=True)
        publisher.loop_stop()
        publisher.disconnect()
        from_publish = {key: at - sent[key] for key, at in seen.items()}
        seen = {key: at - stored[key] for key, at in seen.items() if key in stored}
        delays = list(seen.values())
        result = {
            "venues": args.venues,
            "tiles_rendered": tiles,
            "first_render_folded_s": {"median": statistics.median(folded_render), "max": max(folded_render)},
            "folded_bytes_on_wire": folded_wire,
            "folded_bytes_uncompressed": folded_body,
            "first_render_s": {"median": statistics.median(first_render), "max": max(first_render)},
            "server_response_s": statistics.median(server_time),
            "bytes_on_wire": wire,
            "bytes_uncompressed": body,
            "anchor_venue_rows_s": statistics.median(anchor),
            "render_over_anchor": statistics.median(first_render) / statistics.median(anchor),
            "changes": args.changes,
            "changes_seen": len(delays),
            "mode": args.mode,
            "feed_poll_mean_s": health.get("feed_poll_s"),
            "stored_to_pushed_s": health.get("push_lag_s"),
            "tile_events_in_browser": tile_events,
            "tile_changes_in_browser": len(driver.execute_script("return window.tileChanges")),
            "publish_to_tile_p50_s": percentile(list(from_publish.values()), 0.5) if from_publish else None,
            "publish_to_tile_p99_s": percentile(list(from_publish.values()), 0.99) if from_publish else None,
            "delay_p50_s": percentile(delays, 0.5) if delays else None,
            "delay_p99_s": percentile(delays, 0.99) if delays else None,
            "delay_max_s": max(delays) if delays else None,
            "fleet_sent": fleet.sent.total,
            "targets": {
                "first_render_le_1s": max(folded_render) <= 1.0,  # what a 10,000-venue province opens
                "unfolded_first_render_le_1s": max(first_render) <= 1.0,
                "update_p99_le_2s": bool(delays) and percentile(delays, 0.99) <= 2.0 and len(delays) == args.changes,
            },
        }
        print(json.dumps(result, indent=2))
    finally:
        stop.set()
        if driver is not None:
            driver.quit()
        if fleet is not None:
            fleet.close()
        for process in processes:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.close()


def _offline_at(engine, keys: list[str]) -> dict[str, float]:
    from sqlalchemy import select

    from hub.db.models import AvailabilityTransition

    with engine.connect() as connection:
        rows = connection.execute(
            select(AvailabilityTransition.venue_key, AvailabilityTransition.at).where(
                AvailabilityTransition.venue_key.in_(keys), AvailabilityTransition.state == "offline"
            )
        ).all()
    found: dict[str, float] = {}
    for key, at in rows:
        found[key] = max(found.get(key, 0.0), at.timestamp())
    return found


def _get(address: str) -> dict | None:
    try:
        response = httpx.get(address, timeout=5)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


if __name__ == "__main__":
    main()
