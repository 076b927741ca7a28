"""The Hugging Face Hub: which files a repository holds at a revision, where to read them, and the token.

``huggingface_hub`` (the ``hub`` extra) brings what Hub users already have set up: ``HF_ENDPOINT``,
``HF_TOKEN`` or the token ``hf auth login`` stored, and the API that lists a revision's files with their
sizes (``HfApi.model_info(files_metadata=True)``). The bytes are then read by :class:`ovmem.remote.http.Http`
from ``{endpoint}/{repo}/resolve/{commit}/{file}`` — at the commit the listing resolved, so every range
comes from the same, immutable version of a file.
"""

from __future__ import annotations

import os
from urllib.parse import quote

import attrs

from ovmem.errors import RemoteError, UsageError
from ovmem.remote.source import RemoteSource

__all__ = ["LOGIN_HINT", "Listing", "list_hub"]

LOGIN_HINT = "log in with `hf auth login` or set HF_TOKEN (and accept the model's terms on the Hub if it is gated)"


@attrs.frozen
class Listing:
    """A remote folder: its files (name → size, relative to the folder) and how to read them."""

    base_url: str
    """Ends in ``/``; a file's URL is this plus its quoted name."""
    files: dict[str, int]
    revision: str = ""
    """The commit a Hub revision resolved to (``""`` for plain HTTP)."""
    headers: dict[str, str] = attrs.field(factory=dict, repr=False)
    login_hint: str = ""

    def url(self, name: str) -> str:
        return self.base_url + quote(name)


def list_hub(source: RemoteSource, timeout: float) -> Listing:
    """The files of ``source``'s repository folder at its revision (the default branch if it names none)."""
    try:
        import huggingface_hub
        from huggingface_hub import constants, errors
    except ImportError:
        raise UsageError(f"{source.text}: hf:// models need huggingface_hub: pip install 'ovmem[hub]'") from None
    endpoint = os.environ.get("HF_ENDPOINT", constants.ENDPOINT).rstrip("/")
    api = huggingface_hub.HfApi(endpoint=endpoint)
    try:
        info = api.model_info(source.repo, revision=source.revision, files_metadata=True, timeout=timeout)
    except errors.GatedRepoError:
        raise RemoteError(f"{source.text}: a gated model: {LOGIN_HINT}") from None
    except errors.RevisionNotFoundError:
        raise RemoteError(f"{source.text}: {source.repo} has no revision {source.revision!r}") from None
    except errors.RepositoryNotFoundError:
        raise RemoteError(f"{source.text}: no such model on {endpoint}, or a private one: {LOGIN_HINT}") from None
    except errors.OfflineModeIsEnabled:
        raise RemoteError(f"{source.text}: HF_HUB_OFFLINE is set and this model is not in ovmem's cache") from None
    except errors.HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", "?")
        raise RemoteError(f"{source.text}: the Hub answered HTTP {status}") from None
    except Exception as exc:  # noqa: BLE001 - the HTTP client's own errors (httpx or requests): no route, refused, timeout
        text = str(exc) or type(exc).__name__
        if "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
            raise RemoteError(f"{source.text}: {endpoint} did not answer within {timeout:g} s (--timeout)") from None
        raise RemoteError(f"{source.text}: cannot reach {endpoint}: {text}") from None
    prefix = f"{source.subfolder}/" if source.subfolder else ""
    files = {s.rfilename[len(prefix):]: int(s.size or 0) for s in info.siblings or () if s.rfilename.startswith(prefix)}
    if not files:
        raise RemoteError(f"{source.text}: {source.repo} has no folder {source.subfolder!r} at {info.sha[:12]}")
    headers = huggingface_hub.utils.build_hf_headers(library_name="ovmem")
    base = f"{endpoint}/{source.repo}/resolve/{info.sha}/{quote(prefix)}"
    return Listing(base, files, revision=info.sha, headers=dict(headers), login_hint=LOGIN_HINT)
