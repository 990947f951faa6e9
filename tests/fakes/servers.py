"""Bounded local servers for the fakes: HTTPS app servers and an HTTP CONNECT proxy, bound to 127.0.0.1 only.

Every server stops itself after MAX_LIFETIME_SECONDS even if a test forgets to stop it, every socket has an I/O
timeout, and the proxy only ever connects to 127.0.0.1 ports that its resolver names (anything else gets 502).
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import struct
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

LOOPBACK = "127.0.0.1"
MAX_LIFETIME_SECONDS = 300.0
IO_TIMEOUT_SECONDS = 15.0
# How often serve_forever checks for shutdown: each stop() waits up to this long (three servers per FakeAzure).
POLL_INTERVAL_SECONDS = 0.01


@dataclass
class Request:
    method: str
    host: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(payload).encode("utf-8"), merged)


# An answer that is no answer: the server resets the connection after reading the request, as a
# broken route, a restarted gateway or an idle-timeout reset does.
RESET_CONNECTION = Response(0)

App = Callable[[Request], Response]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: type[BaseHTTPRequestHandler], ssl_context: ssl.SSLContext | None) -> None:
        super().__init__((LOOPBACK, 0), handler)
        self.ssl_context = ssl_context
        self.app: App | None = None
        self.proxy: ConnectProxy | None = None
        self.errors: list[str] = []

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(IO_TIMEOUT_SECONDS)
        _no_delay(request)
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # e.g. the client rejected our certificate: its own error tells the story
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()


class _AppHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IO_TIMEOUT_SECONDS

    def _serve(self) -> None:
        server = cast(_HTTPServer, self.server)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        request = Request(
            method=self.command,
            host=host,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        assert server.app is not None
        try:
            response = server.app(request)
        except Exception:  # a bug in a fake: answer 500 and let the fixture fail the test
            server.errors.append(traceback.format_exc())
            response = Response.json(500, {"error": {"code": "FakeServerBug", "message": "see the fixture"}})
        if response is RESET_CONNECTION:
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1:<ephemeral> with a watchdog; use as a context manager or start()/stop()."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], ssl_context: ssl.SSLContext | None = None) -> None:
        self._httpd = _HTTPServer(handler, ssl_context)
        self._thread: threading.Thread | None = None
        self._watchdog = threading.Timer(MAX_LIFETIME_SECONDS, self.stop)
        self._watchdog.daemon = True
        self._stopped = threading.Event()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def errors(self) -> list[str]:
        return self._httpd.errors

    def start(self) -> LocalServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": POLL_INTERVAL_SECONDS}, daemon=True
        )
        self._thread.start()
        self._watchdog.start()
        return self

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._watchdog.cancel()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HTTPSAppServer(LocalServer):
    """Serves ``app(Request) -> Response`` over TLS (HTTP/1.1, keep-alive)."""

    def __init__(self, app: App, ssl_context: ssl.SSLContext) -> None:
        super().__init__(_AppHandler, ssl_context)
        self._httpd.app = app


@dataclass
class ConnectRecord:
    host: str
    port: int
    routed_to: int | None


class _ConnectHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IO_TIMEOUT_SECONDS

    def do_CONNECT(self) -> None:
        host, _, port_text = self.path.rpartition(":")
        port = int(port_text) if port_text.isdigit() else 443
        proxy = cast(_HTTPServer, self.server).proxy
        assert proxy is not None
        target = proxy.resolve(host.strip("[]").lower(), port)
        proxy.connects.append(ConnectRecord(host.lower(), port, target))
        upstream = None
        if target is not None:
            try:
                upstream = socket.create_connection((LOOPBACK, target), timeout=IO_TIMEOUT_SECONDS)
                _no_delay(upstream)
            except OSError:
                upstream = None
        if upstream is None:
            # What a real egress proxy answers when the name does not resolve or the connection fails.
            self.send_response(502, "Bad Gateway")
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            _pipe(self.connection, upstream)
        finally:
            upstream.close()
            self.close_connection = True

    def _refuse(self) -> None:
        self.send_response(405, "Only CONNECT")
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _no_delay(sock: socket.socket) -> None:
    """Send small writes at once: with Nagle's algorithm, headers and body written separately wait for the peer's
    delayed ACK (about 40 ms per hop on Linux), which made every request through the proxy take 50-90 ms."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _quick_ack(sock: socket.socket) -> None:
    """ACK at once (Linux; the flag does not stick, so after every read): a client with Nagle's algorithm on waits for
    the ACK of its headers before it sends the body, and a delayed ACK costs about 40 ms per request."""
    if hasattr(socket, "TCP_QUICKACK"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes or nothing moves for IO_TIMEOUT_SECONDS."""
    peers = {a: b, b: a}
    while True:
        readable, _, _ = select.select(list(peers), [], [], IO_TIMEOUT_SECONDS)
        if not readable:
            return
        for sock in readable:
            try:
                data = sock.recv(65536)
                if not data:
                    return
                _quick_ack(sock)
                peers[sock].sendall(data)
            except OSError:
                return


class ConnectProxy(LocalServer):
    """An HTTPS egress proxy (plain-HTTP CONNECT) that stands in for DNS + the internet.

    ``resolve(host, port)`` returns the 127.0.0.1 port of the local fake serving that name, or None; the proxy
    answers 502 for None, exactly like an egress proxy whose DNS lookup failed. It never connects elsewhere.
    """

    def __init__(self, resolve: Callable[[str, int], int | None]) -> None:
        super().__init__(_ConnectHandler)
        self.resolve = resolve
        self.connects: list[ConnectRecord] = []
        self._httpd.proxy = self

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"
