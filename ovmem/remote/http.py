"""HTTP for remote models: whole small files, byte ranges of large ones, and one-line errors.

Only the standard library (``urllib``): plain HTTP needs no extra dependency; the Hub adds its token
and endpoint (:mod:`ovmem.remote.hub`) and is fetched the same way. Range requests follow RFC 9110 §14:
a ``206`` with ``Content-Range: bytes A-B/TOTAL`` is the part asked for; a ``200`` to a partial range
means the server ignores ``Range``.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from ovmem.errors import RemoteError, UsageError

__all__ = ["Http", "NotFound", "Traffic"]

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_CHUNK = 1 << 20


@attrs.define
class Traffic:
    """What a fetch cost: bytes of bodies received (``weight_bytes`` of them from ``.bin`` files), requests
    made, seconds spent waiting for the network."""

    bytes: int = 0
    weight_bytes: int = 0
    requests: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {"bytes": self.bytes, "weight_bytes": self.weight_bytes, "requests": self.requests,
                "seconds": round(self.seconds, 3)}  # fmt: skip


class NotFound(RemoteError):
    """HTTP 404: for a folder without a listing, an answer (the file is not there), not always an error."""


class _NoCredentialsAcrossHosts(urllib.request.HTTPRedirectHandler):
    """Follow redirects (the Hub sends large files to its CDN) without carrying the token to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl).hostname != urlsplit(req.full_url).hostname:
            new.remove_header("Authorization")
        return new


class Http:
    """Requests with a timeout, the caller's headers (a token for its own host) and counted traffic."""

    def __init__(self, timeout: float) -> None:
        if timeout <= 0:
            raise UsageError(f"--timeout must be positive (got {timeout:g})")
        self.timeout = timeout
        self.headers: dict[str, str] = {}
        """Sent with every request (the Hub's: :mod:`ovmem.remote.hub`); the token never to another host."""
        self.login_hint = ""
        """Appended to an access-denied error: how to log in."""
        self.traffic = Traffic()
        self.etags: dict[str, str] = {}
        """A large file's ETag when it was listed, by URL: every range read of it must carry the same."""
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener(_NoCredentialsAcrossHosts)

    def read(self, url: str) -> bytes:
        """A whole (small) file."""
        with self._open(url, method="GET") as response:
            length = response.headers.get("Content-Length")
            return self._body(url, response, None if length is None else int(length))

    def size(self, url: str) -> tuple[int, str]:
        """A file's size and ETag (``""`` if the server sends none), from a ``HEAD``."""
        with self._open(url, method="HEAD") as response:
            length = response.headers.get("Content-Length")
            if length is None:
                raise RemoteError(f"{url}: the server does not say the file's size (no Content-Length)")
            return int(length), _etag(response.headers)

    def read_range(self, url: str, start: int, stop: int, total: int, etag: str = "") -> bytes:
        """Bytes ``[start, stop)`` of a file of ``total`` bytes whose ETag was ``etag``."""
        with self._open(url, method="GET", headers={"Range": f"bytes={start}-{stop - 1}"}) as response:
            if response.status != 206:
                if (start, stop) == (0, total):
                    return self._body(url, response, stop - start, weights=True)
                raise RemoteError(
                    f"{url}: the server does not honour HTTP Range requests (it answered {response.status} to one); "
                    "rerun with --full-download to fetch whole files"
                )
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
            if not match or (int(match[1]), int(match[2]) + 1) != (start, stop):
                raise RemoteError(f"{url}: the server sent another byte range than the one asked for")
            if match[3] != "*" and int(match[3]) != total:
                raise RemoteError(f"{url}: the file changed on the server ({match[3]} bytes, was {total}); rerun with --refresh")
            if etag and (now := _etag(response.headers)) and now != etag:
                raise RemoteError(f"{url}: the file changed on the server (ETag {now}, was {etag}); rerun with --refresh")
            return self._body(url, response, stop - start, weights=True)

    def download(self, url: str, target: Path, total: int) -> None:
        """A whole file into ``target``, streamed (``--full-download``)."""
        with self._open(url, method="GET") as response, open(target, "wb") as out:
            received = 0
            while chunk := self._chunk(url, response, weights=True):
                out.write(chunk)
                received += len(chunk)
            if received != total:
                raise RemoteError(f"{url}: truncated: {received} of {total} bytes arrived")

    def _open(self, url: str, method: str, headers: dict[str, str] | None = None):
        request = urllib.request.Request(url, method=method, headers={**self.headers, **(headers or {})})
        started = time.perf_counter()
        try:
            response = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise (NotFound if exc.code == 404 else RemoteError)(self._status_error(url, exc.code, exc.reason)) from None
        except (urllib.error.URLError, OSError, HTTPException) as exc:
            raise RemoteError(self._network_error(url, exc)) from None
        finally:
            with self._lock:
                self.traffic.requests += 1
                self.traffic.seconds += time.perf_counter() - started
        return response

    def _body(self, url: str, response, expected: int | None, weights: bool = False) -> bytes:
        chunks = []
        while chunk := self._chunk(url, response, weights):
            chunks.append(chunk)
        body = b"".join(chunks)
        if expected is not None and len(body) != expected:
            raise RemoteError(f"{url}: truncated: {len(body)} of {expected} bytes arrived")
        return body

    def _chunk(self, url: str, response, weights: bool = False) -> bytes:
        started = time.perf_counter()
        try:
            chunk = response.read(_CHUNK)
        except (OSError, HTTPException) as exc:
            raise RemoteError(self._network_error(url, exc)) from None
        with self._lock:
            self.traffic.bytes += len(chunk)
            self.traffic.weight_bytes += len(chunk) if weights else 0
            self.traffic.seconds += time.perf_counter() - started
        return chunk

    def _status_error(self, url: str, code: int, reason: object) -> str:
        if code in (401, 403):
            hint = f"; {self.login_hint}" if self.login_hint else ""
            return f"{url}: access denied (HTTP {code}): a gated or private model{hint}"
        if code == 404:
            return f"{url}: not found (HTTP 404)"
        if code == 416:
            return f"{url}: the file is shorter than its model says (HTTP 416); rerun with --refresh"
        return f"{url}: HTTP {code} {reason}"

    def _network_error(self, url: str, exc: BaseException) -> str:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (socket.timeout, TimeoutError)) or "timed out" in str(reason):
            return f"{url}: no answer within {self.timeout:g} s (--timeout)"
        host = urlsplit(url).hostname
        return f"cannot reach {host}: {reason or type(exc).__name__} (no network? ovmem needs it once per model; "\
               "later runs use the cache)"


def _etag(headers) -> str:
    """The ETag without its weak marker and quotes (the Hub's X-Linked-Etag for files it redirects)."""
    value = headers.get("X-Linked-Etag") or headers.get("ETag") or ""
    return value.removeprefix("W/").strip('"')
