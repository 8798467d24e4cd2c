"""Voilà as ``tlsviz explore`` runs it: ``python -m tlsviz.widgets._voila ARGS`` is
``python -m voila ARGS`` with one change.

When a page is closed while the server is writing to its websocket, tornado's write task
fails with ``WebSocketClosedError`` (from ``StreamClosedError``), nobody awaits it, and asyncio
prints "Task exception was never retrieved" with two tracebacks on the terminal of
``tlsviz explore``, though nothing went wrong: the reader left. The event loops made here get
an exception handler that drops exactly these two exceptions and passes every other one to
asyncio's default handler.
"""

from __future__ import annotations

import asyncio


def quiet_closed_sockets(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """asyncio exception handler: ignore a websocket or stream that the client closed."""
    from tornado.iostream import StreamClosedError
    from tornado.websocket import WebSocketClosedError

    if isinstance(context.get("exception"), (WebSocketClosedError, StreamClosedError)):
        return
    loop.default_exception_handler(context)


class QuietClosedSocketsPolicy(asyncio.DefaultEventLoopPolicy):
    """The default event loop policy, whose new loops use :func:`quiet_closed_sockets`."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = super().new_event_loop()
        loop.set_exception_handler(quiet_closed_sockets)
        return loop


def main() -> None:
    asyncio.set_event_loop_policy(QuietClosedSocketsPolicy())
    from voila.app import main as voila_main

    voila_main()


if __name__ == "__main__":
    main()
