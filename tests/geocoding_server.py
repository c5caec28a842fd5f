"""A fake geocoding service on 127.0.0.1 (http.server in a thread) that answers
in Nominatim's and Google's real formats, or fails the ways real services do:
error statuses, error bodies, HTML, slow answers and oversized ones.

Each path gets a scripted `Answer`; every request is recorded. A slow answer
waits for `release()` (called at teardown), never for a timer.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOOPBACK = "127.0.0.1"
NOMINATIM_PATH = "/search"
GOOGLE_PATH = "/maps/api/geocode/json"


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    #: Hold the answer until the server is released (a service that hangs).
    slow: bool = False
    #: Send the body in chunks without a Content-Length (a stream of unknown size).
    chunked: bool = False


def json_answer(document: Any, status: int = 200) -> Answer:
    return Answer(status=status, body=json.dumps(document).encode())


def nominatim_place(lat: float, lon: float, name: str = "c-base, Berlin") -> Answer:
    """What /search?format=jsonv2 returns: a list of places, coordinates as strings."""
    return json_answer(
        [
            {
                "place_id": 129_471_246,
                "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
                "osm_type": "node",
                "osm_id": 3_331_424_133,
                "lat": f"{lat:.7f}",
                "lon": f"{lon:.7f}",
                "category": "amenity",
                "type": "hackerspace",
                "place_rank": 30,
                "importance": 0.00007,
                "addresstype": "amenity",
                "name": "c-base",
                "display_name": name,
                "boundingbox": [f"{lat - 0.001:.7f}", f"{lat + 0.001:.7f}", "13.41", "13.43"],
            }
        ]
    )


def google_result(lat: float, lng: float, address: str = "Rungestraße 20, Berlin") -> Answer:
    """What /maps/api/geocode/json returns for a hit."""
    return json_answer(
        {
            "results": [
                {
                    "address_components": [],
                    "formatted_address": address,
                    "geometry": {
                        "location": {"lat": lat, "lng": lng},
                        "location_type": "ROOFTOP",
                        "viewport": {
                            "northeast": {"lat": lat + 0.001, "lng": lng + 0.001},
                            "southwest": {"lat": lat - 0.001, "lng": lng - 0.001},
                        },
                    },
                    "place_id": "ChIJ-x",
                    "types": ["street_address"],
                }
            ],
            "status": "OK",
        }
    )


def google_status(status: str, message: str = "") -> Answer:
    document: dict[str, Any] = {"results": [], "status": status}
    if message:
        document["error_message"] = message
    return json_answer(document)


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class GeocodingServer:
    answers: dict[str, Answer] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer((LOOPBACK, 0), _handler_for(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self.release()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _record(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            return self.answers.get(request.path, Answer(status=404, body=b"{}"))


def _handler_for(server: GeocodingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            answer = server._record(Request(parts.path, query, dict(self.headers.items())))
            if answer.slow and not server._released.wait(timeout=30):
                return
            with contextlib.suppress(OSError):  # the client may have given up (timed out)
                self._send(answer)

        def _send(self, answer: Answer) -> None:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            if answer.chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in _chunks(answer.body, 16 * 1024):
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        def log_message(self, format: str, *args: Any) -> None:
            return None  # quiet

    return Handler


def _chunks(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]
