"""Serving the board with uvicorn: in the foreground (`venue-hub serve`), or beside the ingest in a
thread of `venue-hub run` (its own event loop, so neither can stall the other)."""

from __future__ import annotations

import logging
import threading

import uvicorn
from sqlalchemy import Engine

from hub.config.models import HubSettings
from hub.config.web import split_listen
from hub.web.app import create_app

log = logging.getLogger("hub.web")


def make_server(settings: HubSettings, engine: Engine, password: str | None) -> uvicorn.Server:
    """A uvicorn server for the board at `[web] listen` (raises SecretFileError for a bad secret file)."""
    assert settings.web.listen is not None
    host, port = split_listen(settings.web.listen)
    app = create_app(settings, engine, password)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # the client address is the proxy's own: [web.proxy] trusted judges it
        timeout_graceful_shutdown=2,  # event streams never end by themselves
        lifespan="on",
    )
    return uvicorn.Server(config)


class BoardThread:
    """The board in a daemon thread of another program (`venue-hub run`)."""

    def __init__(self, server: uvicorn.Server):
        self.server = server
        self.thread = threading.Thread(target=self._serve, name="venue-hub-board", daemon=True)

    def _serve(self) -> None:
        try:
            self.server.run()
        except BaseException:  # the ingest goes on even if the board cannot (a port in use, …)
            log.exception("the board stopped")

    def start(self) -> BoardThread:
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
