#!/usr/bin/env python
"""Serve export folders over HTTP the way the Hugging Face Hub and plain web servers do, on 127.0.0.1.

    python tools/model_server.py tests/fixtures --port 8000
    HF_ENDPOINT=http://127.0.0.1:8000 ovmem analyze hf://OpenVINO/tiny-qwen2-f16 --seq-len 1024
    ovmem analyze http://127.0.0.1:8000/tiny-qwen2-f16/ --seq-len 1024

Plain HTTP: ``/NAME/FILE`` is ``ROOT/NAME/FILE``, with ``HEAD``, single ``Range`` requests (``206`` and
``Content-Range``, RFC 9110 §14) and an ``ETag``. The Hub protocol ``huggingface_hub`` speaks (an
``HF_ENDPOINT``): ``GET /api/models/OWNER/NAME/revision/REV?blobs=True`` lists the folder
``ROOT/OWNER/NAME`` (or ``ROOT/NAME``: any owner) with sizes and a commit hash of its contents, and
``/OWNER/NAME/resolve/REV/FILE`` serves a file — a ``.bin`` by a redirect to ``localhost`` as the Hub
sends large files to its CDN (another host: a client must not carry its token there).

The tests (``tests/test_remote.py``) and ``bench/remote.py`` start it in a thread (:class:`ModelServer`)
and switch on the failures they check: no Range support, a token required, a gated model, slow
answers, a body cut short, a file that changes between requests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")
_API = re.compile(r"^/api/models/(?P<owner>[^/]+)/(?P<name>[^/]+)(?:/revision/(?P<rev>[^/]+))?$")
_RESOLVE = re.compile(r"^/(?P<owner>[^/]+)/(?P<name>[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


class ModelServer:
    """A threaded server over ``root``; the attributes below inject the failures a client must survive."""

    def __init__(self, root: str | Path, port: int = 0) -> None:
        self.root = Path(root).resolve()
        self.ranges = True  # False: answer every Range request with the whole file (200)
        self.token: str | None = None  # a Bearer token every request must carry (else 401)
        self.gated: set[str] = set()  # Hub repos (OWNER/NAME) that answer 403 GatedRepo
        self.delay = 0.0  # seconds before every answer
        self.cut_short = False  # send half of each body, then close
        self.change_etag = False  # range answers carry another ETag than HEAD did
        self.requests: list[tuple[str, str, str | None, bool]] = []  # (method, path, Range, had Authorization)
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ModelServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.bytes_sent = 0

    def repo_folder(self, owner: str, name: str) -> Path | None:
        for folder in (self.root / owner / name, self.root / name):
            if folder.is_dir() and folder.resolve().is_relative_to(self.root):
                return folder
        return None

    @staticmethod
    def commit(folder: Path) -> str:
        """A commit hash of the folder's contents (names, sizes, modification times)."""
        listing = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in folder.iterdir() if f.is_file())
        return hashlib.sha1(json.dumps(listing).encode()).hexdigest()


def _handler(server: ModelServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            try:
                self._serve(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test): fine
                self.close_connection = True

        def _serve(self, body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            with server._lock:
                server.requests.append((self.command, path, self.headers.get("Range"), "Authorization" in self.headers))
            if server.delay:
                time.sleep(server.delay)
            if server.token is not None and self.headers.get("Authorization") != f"Bearer {server.token}" \
                    and not path.startswith("/cdn/"):
                return self._status(401, {"X-Error-Code": "RepoNotFound"} if path.startswith("/api/") else {})
            if match := _API.match(path):
                return self._api(match, body)
            if match := _RESOLVE.match(path):
                return self._resolve(match, body)
            if path.startswith("/cdn/"):
                path = path[len("/cdn"):]
            file = (server.root / path.lstrip("/")).resolve()
            if not file.is_file() or not file.is_relative_to(server.root):
                return self._status(404)
            self._file(file, body)

        def _api(self, match: re.Match, body: bool) -> None:
            owner, name, rev = match["owner"], match["name"], match["rev"]
            folder = server.repo_folder(owner, name)
            if folder is None:
                return self._status(404, {"X-Error-Code": "RepoNotFound"})
            if f"{owner}/{name}" in server.gated:
                return self._status(403, {"X-Error-Code": "GatedRepo"})
            commit = server.commit(folder)
            if rev not in (None, "main", commit):
                return self._status(404, {"X-Error-Code": "RevisionNotFound"})
            siblings = [{"rfilename": f.relative_to(folder).as_posix(), "size": f.stat().st_size}
                        for f in sorted(folder.rglob("*")) if f.is_file()]  # fmt: skip
            self._json({"id": f"{owner}/{name}", "modelId": f"{owner}/{name}", "sha": commit, "siblings": siblings}, body)

        def _resolve(self, match: re.Match, body: bool) -> None:
            owner, name, rev, file = match["owner"], match["name"], match["rev"], match["file"]
            folder = server.repo_folder(owner, name)
            if folder is None or f"{owner}/{name}" in server.gated:
                return self._status(404 if folder is None else 403)
            if rev not in ("main", server.commit(folder)):
                return self._status(404, {"X-Error-Code": "RevisionNotFound"})
            target = (folder / file).resolve()
            if not target.is_file() or not target.is_relative_to(folder.resolve()):
                return self._status(404, {"X-Error-Code": "EntryNotFound"})
            if target.suffix == ".bin":  # large files live elsewhere: a redirect to another host name
                cdn = f"http://localhost:{server.port}/cdn/{target.relative_to(server.root).as_posix()}"
                return self._status(302, {"Location": cdn, "X-Repo-Commit": server.commit(folder)})
            self._file(target, body, {"X-Repo-Commit": server.commit(folder)})

        def _file(self, file: Path, body: bool, extra: dict[str, str] | None = None) -> None:
            stat = file.stat()
            etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
            start, stop, status = 0, stat.st_size, 200
            asked = self.headers.get("Range")
            if asked and server.ranges:
                match = _RANGE.match(asked.strip())
                if not match or int(match[1]) >= stat.st_size:
                    return self._status(416, {"Content-Range": f"bytes */{stat.st_size}"})
                start, stop, status = int(match[1]), min(int(match[2] or stat.st_size - 1) + 1, stat.st_size), 206
                if server.change_etag:
                    etag = f'"changed-{stat.st_mtime_ns:x}"'
            headers = {"Content-Length": str(stop - start), "ETag": etag, "Accept-Ranges": "bytes" if server.ranges else "none",
                       **(extra or {})}  # fmt: skip
            if status == 206:
                headers["Content-Range"] = f"bytes {start}-{stop - 1}/{stat.st_size}"
            self._head(status, headers)
            if not body:
                return
            with open(file, "rb") as f:
                f.seek(start)
                data = f.read(stop - start)
            if server.cut_short:
                data = data[: len(data) // 2]
                self.close_connection = True
            self.wfile.write(data)
            with server._lock:
                server.bytes_sent += len(data)

        def _json(self, data: dict, body: bool) -> None:
            payload = json.dumps(data).encode()
            self._head(200, {"Content-Type": "application/json", "Content-Length": str(len(payload))})
            if body:
                self.wfile.write(payload)

        def _status(self, code: int, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps({"error": f"HTTP {code}"}).encode()
            self._head(code, {"Content-Type": "application/json", "Content-Length": str(len(payload)), **(headers or {})})
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _head(self, code: int, headers: dict[str, str]) -> None:
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", help="a folder of export folders")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    with ModelServer(args.root, args.port) as server:
        print(f"serving {server.root} at {server.url} (Hub: HF_ENDPOINT={server.url}); Ctrl-C stops", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
