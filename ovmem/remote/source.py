"""Where a remote model lives: ``hf://OWNER/REPO[@REVISION][/SUBFOLDER]`` or an ``http(s)://`` URL.

A Hub source names a repository (and optionally a revision and a folder in it); an HTTP source names an
export folder (its URL, ending in ``/`` or not) or one ``.xml`` in it. Nothing here touches the network.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import attrs

from ovmem.errors import UsageError

__all__ = ["RemoteSource", "is_remote", "parse_source"]

_SCHEMES = ("hf://", "http://", "https://")
_HUB = re.compile(r"^hf://(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<revision>[^/]+))?(?:/(?P<subfolder>.*?))?/?$")


def is_remote(text: object) -> bool:
    """Whether ``text`` names a remote model (a string with one of the schemes ovmem fetches)."""
    return isinstance(text, str) and text.startswith(_SCHEMES)


@attrs.frozen
class RemoteSource:
    """A parsed remote model: a Hub repository, or an HTTP folder (``file`` names one ``.xml`` in it)."""

    text: str
    """As the user wrote it."""
    repo: str | None = None
    revision: str | None = None
    subfolder: str = ""
    folder_url: str | None = None
    """HTTP: the folder's URL, ending in ``/``."""
    file: str | None = None
    """The one ``.xml`` the source names (``None``: the folder's models)."""

    @property
    def is_hub(self) -> bool:
        return self.repo is not None

    @property
    def name(self) -> str:
        """What the reports call the model: the folder's last part, as for a local export folder."""
        if self.is_hub:
            return (self.subfolder.rstrip("/").rsplit("/", 1)[-1] if self.subfolder else self.repo.split("/")[1])
        return self.folder_url.rstrip("/").rsplit("/", 1)[-1] or urlsplit(self.folder_url).hostname or "model"


def parse_source(text: str) -> RemoteSource:
    """Parse ``text``; a one-line :class:`UsageError` names what is wrong with it."""
    if text.startswith("hf://"):
        match = _HUB.match(text)
        if not match:
            raise UsageError(f"{text}: not a Hub model; write hf://OWNER/REPO[@REVISION][/SUBFOLDER]")
        subfolder, file = (match["subfolder"] or "").strip("/"), None
        if subfolder.endswith(".xml"):
            subfolder, _, file = subfolder.rpartition("/")
        return RemoteSource(text, repo=match["repo"], revision=match["revision"], subfolder=subfolder, file=file)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{text}: not a URL ovmem can fetch (http://, https:// or hf://)")
    if parts.query or parts.fragment:
        raise UsageError(f"{text}: a model URL has no query or fragment")
    path = parts.path or "/"
    if path.endswith(".xml"):
        folder, _, file = path.rpartition("/")
        return RemoteSource(text, folder_url=f"{parts.scheme}://{parts.netloc}{folder}/", file=file)
    if path.endswith(".bin"):
        raise UsageError(f"{text}: name the model's .xml or its folder (the .bin is read where the .xml says)")
    return RemoteSource(text, folder_url=f"{parts.scheme}://{parts.netloc}{path.rstrip('/')}/")
