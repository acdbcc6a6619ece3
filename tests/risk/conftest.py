"""A local feed server (no internet here) and the risk fixtures: companies, a watchlist, feeds."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml"
    etag: str = ""
    last_modified: str = ""
    delay: float = 0.0


@dataclass
class FeedServer:
    host: str
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def hits(self, path: str) -> list[dict[str, str]]:
        return [r for r in self.requests if r["path"] == path]


def _handler(server_state: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            route = server_state.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            if route.delay:
                time.sleep(route.delay)
            unchanged = (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified
            )
            if unchanged:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified:
                self.send_header("Last-Modified", route.last_modified)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            # The client may have given up already (the timeout test).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(route.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer(host="127.0.0.1", port=0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def rss(*items: str, title: str = "Wire One") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://news.example/</link><description>News</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def rss_item(guid: str, title: str, body: str, published: str = "Mon, 02 Dec 2024 09:00:00 GMT") -> str:
    return (
        f"<item><guid>{guid}</guid><title>{title}</title><link>http://news.example/{guid}</link>"
        f"<description>{body}</description><pubDate>{published}</pubDate></item>"
    )


def atom(*entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Wire Two</title><id>urn:wire-two</id><updated>2024-12-02T09:00:00Z</updated>"
        + "".join(entries)
        + "</feed>"
    ).encode()


def atom_entry(entry_id: str, title: str, body: str, updated: str = "2024-12-02T10:00:00Z") -> str:
    return (
        f"<entry><id>{entry_id}</id><title>{title}</title><link href='http://wire-two.example/{entry_id}'/>"
        f"<updated>{updated}</updated><summary>{body}</summary></entry>"
    )


@pytest.fixture
def companies(db):
    from apps.research.services import company_upsert

    return {
        "ACME": company_upsert(ticker="ACME", name="Acme Industrial Corp", aliases=["Acme"]),
        "GLBX": company_upsert(ticker="GLBX", name="Globex Corporation", aliases=["Globex"]),
        "INIT": company_upsert(ticker="INIT", name="Initech Inc", aliases=["Initech"]),
    }


@pytest.fixture
def watchlist(risk_officer, companies):
    from apps.risk.services import watchlist_create

    risk_officer.email = "rita@bank.example"
    risk_officer.save(update_fields=["email"])
    return watchlist_create(
        actor=risk_officer,
        name="Credit book",
        companies=companies.values(),
        notify_emails=["desk@bank.example"],
    )
