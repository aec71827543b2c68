"""The hub's web board (docs/board.md): server-rendered pages, live tiles by server-sent events."""
