"""Serving the explorer: uvicorn's HTTP protocol with a deadline on request headers.

uvicorn closes idle keep-alive connections, but a client that opens a
socket and then sends a request's headers slowly (or never) holds the
connection open for as long as it likes; enough of them exhaust the
server's sockets. :class:`HeaderDeadlineProtocol` closes a connection whose
request headers are not complete ``header_timeout`` seconds after the
connection opened or the request began.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 10.0  # seconds a client has to send one request's headers


def header_deadline_protocol(header_timeout: float = HEADER_TIMEOUT) -> type:
    """An ``http=`` protocol class for ``uvicorn.run`` that enforces ``header_timeout``."""

    class HeaderDeadlineProtocol(HttpToolsProtocol):
        _deadline = None

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    HeaderDeadlineProtocol.__name__ = HeaderDeadlineProtocol.__qualname__ = "HeaderDeadlineProtocol"
    return HeaderDeadlineProtocol
