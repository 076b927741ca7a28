"""A remote model made local: its ``.xml`` and JSON files, and of each ``.bin`` only what the analysis reads.

:func:`fetch_model` lists the source (the Hub's API, or the names optimum-intel writes for a plain HTTP
folder, which has no listing), reads the small files whole, decides from each ``.xml`` which constants
the analysis reads (:mod:`ovmem.remote.reads`), fetches those byte ranges (coalesced, a few requests at
a time) into sparse ``.bin`` files of the right size in ovmem's cache (:mod:`ovmem.remote.cache`), and
returns the folder: every command then analyses it exactly as a local model. A second call for the
same source reads the cache and does not touch the network; ``refresh`` lists the source again.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import functools
import os
import shutil
from pathlib import Path
from typing import Any

import attrs

from ovmem.errors import RemoteError, UsageError
from ovmem.remote import cache
from ovmem.remote.http import Http, NotFound, Traffic
from ovmem.remote.hub import Listing, list_hub
from ovmem.remote.reads import IrFile, coalesce, parse_ir
from ovmem.remote.source import RemoteSource, parse_source
from ovmem.units import format_bytes

__all__ = ["DEFAULT_TIMEOUT", "RemoteModel", "fetch_model", "fetch_weights"]

DEFAULT_TIMEOUT = 30.0
"""Seconds one request may wait for an answer (``--timeout``)."""

METADATA_FILES = ("config.json", "generation_config.json", "preprocessor_config.json", "openvino_config.json")
"""The JSON files ovmem reads beside the IRs (layouts, vocabularies, image sizes)."""

PIPELINE_FILES = (
    "openvino_language_model.xml", "openvino_text_embeddings_model.xml", "openvino_vision_embeddings_model.xml",
    "openvino_vision_embeddings_merger_model.xml", "openvino_resampler_model.xml", "openvino_vision_projection_model.xml",
    "openvino_multi_modal_projector_model.xml", "openvino_vision_resampler_model.xml",
)  # fmt: skip
"""A plain HTTP folder has no listing: without an ``openvino_model.xml`` these VLM parts are asked for (the
names optimum-intel writes, ``ovmem.vlm.layout``), with genai's tokenizer IRs in either case."""

PARALLEL_REQUESTS = 8


@attrs.frozen
class RemoteModel:
    """A remote model in the cache, and what getting it cost."""

    source: str
    path: Path
    """The local folder (or ``.xml``) to analyse."""
    revision: str
    """The Hub commit it was read at (``""`` for plain HTTP)."""
    traffic: Traffic
    """This call's traffic (all zero when it came from the cache)."""
    weights_bytes: int
    """The ``.bin`` files' full size: what a download would have cost."""
    cached: bool
    cache_folder: Path

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "revision": self.revision, "from_cache": self.cached,
                **{f"fetched_{k}": v for k, v in self.traffic.to_dict().items()},
                "weights_bytes": self.weights_bytes, "cache_folder": str(self.cache_folder)}  # fmt: skip

    def summary(self) -> str:
        """One line for the text output."""
        where = f"{self.source}" + (f" @ {self.revision[:12]}" if self.revision else "")
        if self.cached:
            return f"remote: {where}, from ovmem's cache (no network)"
        t = self.traffic
        share = t.weight_bytes / self.weights_bytes if self.weights_bytes else 0.0
        rest = ", the rest .xml and .json" if t.bytes > t.weight_bytes else ""
        return (f"remote: {where}, fetched {format_bytes(t.bytes)} in {t.requests} requests, {t.seconds:.1f} s: "
                f"{format_bytes(t.weight_bytes)} of {format_bytes(self.weights_bytes)} of weights ({share:.2%}){rest}")


def fetch_model(
    source: str, *, timeout: float = DEFAULT_TIMEOUT, refresh: bool = False, full_download: bool = False
) -> RemoteModel:
    """The local copy of ``source`` (``hf://…`` or ``http(s)://…``) that ovmem analyses, fetched if needed."""
    parsed = parse_source(source)
    entry = cache.entry_folder(source)
    manifest = None if refresh else cache.read_manifest(entry)
    if manifest is not None and (manifest.get("complete") or not full_download):
        return _remote_model(entry, manifest, Traffic(), cached=True)
    listing, http = _list(parsed, timeout)

    def fill(folder: Path) -> dict[str, int]:
        models = _fetch_small_files(parsed, listing, http, folder)
        _fetch_weights(models, folder, http, full_download, lambda name: (listing.url(name), listing.files[name]))
        return {n: listing.files[n] for n in sorted(listing.files) if (folder / n).exists()}

    manifest = _install(entry, _folder_name(parsed), fill, http, source=source, revision=listing.revision,
                        file=parsed.file, complete=full_download)  # fmt: skip
    return _remote_model(entry, manifest, http.traffic, cached=False)


def fetch_weights(xml: str | os.PathLike[str], url: str, *, timeout: float = DEFAULT_TIMEOUT) -> RemoteModel:
    """A local ``.xml`` whose ``.bin`` is at ``url`` (``--weights-from``): the ``.xml`` (and the JSON files
    beside it) copied into the cache with a sparse ``.bin`` of what the analysis reads."""
    xml = Path(xml)
    if xml.is_dir():
        from ovmem.ir.lift import resolve_model_path

        xml = resolve_model_path(xml)
    if not xml.is_file() or xml.suffix != ".xml":
        raise UsageError(f"{xml}: --weights-from needs the model's .xml (or its folder)")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--weights-from {url}: the URL of the model's .bin (http:// or https://)")
    entry = cache.entry_folder(f"{xml.resolve()}|{xml.stat().st_size}|{xml.stat().st_mtime_ns}|{url}")
    if (manifest := cache.read_manifest(entry)) is not None:
        return _remote_model(entry, manifest, Traffic(), cached=True)
    http = Http(timeout)
    total, http.etags[url] = http.size(url)

    def fill(folder: Path) -> dict[str, int]:
        for name in (xml.name, *METADATA_FILES):
            if (xml.parent / name).is_file():
                shutil.copyfile(xml.parent / name, folder / name)
        _fetch_weights({xml.name: parse_ir(xml.read_bytes(), xml.name)}, folder, http, False, lambda name: (url, total))
        return {xml.with_suffix(".bin").name: total}

    manifest = _install(entry, xml.parent.name, fill, http, source=f"{xml} + {url}", revision="", file=xml.name,
                        complete=False)  # fmt: skip
    return _remote_model(entry, manifest, http.traffic, cached=False)


def _install(entry: Path, name: str, fill, http: Http, **fields: Any) -> dict[str, Any]:
    """Build a cache entry: ``fill`` writes the model folder ``name`` in a staging folder and returns its
    files' sizes; then the manifest (``fields``, the files, the traffic) and the rename into place."""
    staging = cache.staging_folder(entry)
    try:
        folder = staging / name
        folder.mkdir()
        files = fill(folder)
        created = datetime.datetime.now(datetime.timezone.utc).isoformat()
        manifest = {**fields, "name": name, "files": files, "fetched": http.traffic.to_dict(), "created": created}
        cache.install(staging, entry, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _remote_model(entry: Path, manifest: dict, traffic: Traffic, cached: bool) -> RemoteModel:
    folder = entry / manifest["name"]
    path = folder / manifest["file"] if manifest.get("file") else folder
    weights = sum(size for name, size in manifest["files"].items() if name.endswith(".bin"))
    return RemoteModel(manifest["source"], path, manifest.get("revision", ""), traffic, weights, cached, entry)


def _folder_name(parsed: RemoteSource) -> str:
    return parsed.name.replace(os.sep, "_") or "model"


def _list(parsed: RemoteSource, timeout: float) -> tuple[Listing, Http]:
    http = Http(timeout)  # checks the timeout before any request
    if parsed.is_hub:
        listing = list_hub(parsed, timeout)
        http.headers.update(listing.headers)
        http.login_hint = listing.login_hint
        return listing, http
    from ovmem.genai import TOKENIZER_FILES

    files: dict[str, int] = {}
    if parsed.file:
        if not _probe(http, parsed, parsed.file, files):
            raise RemoteError(f"{parsed.text}: not found (HTTP 404)")
    else:
        found = _probe(http, parsed, "openvino_model.xml", files) or any(_parallel(
            lambda name: _probe(http, parsed, name, files), PIPELINE_FILES))  # fmt: skip
        if not found:
            raise RemoteError(f"{parsed.text}: no OpenVINO model there (no openvino_model.xml, no openvino_language_model.xml)")
    _parallel(lambda name: _probe(http, parsed, name, files), [*METADATA_FILES, *(() if parsed.file else TOKENIZER_FILES)])

    def weights(xml: str) -> None:  # an IR's .bin: its size, and the ETag every range read of it must carry
        url = parsed.folder_url + xml[:-4] + ".bin"
        files[xml[:-4] + ".bin"], http.etags[url] = http.size(url)

    _parallel(weights, [n for n in files if n.endswith(".xml")])
    return Listing(parsed.folder_url, dict(sorted(files.items()))), http


def _probe(http: Http, parsed: RemoteSource, name: str, files: dict[str, int]) -> bool:
    """Whether the folder has ``name`` (a 404 is an answer, not an error); if so, its size goes in ``files``."""
    try:
        files[name] = http.size(parsed.folder_url + name)[0]
    except NotFound:
        return False
    return True


def _fetch_small_files(parsed: RemoteSource, listing: Listing, http: Http, folder: Path) -> dict[str, IrFile]:
    """Write the IRs and JSON files into ``folder``; the model IRs parsed (tokenizers' are not analysed)."""
    from ovmem.genai import TOKENIZER_FILES

    wanted = [n for n in listing.files if "/" not in n and (n.endswith(".xml") or n in METADATA_FILES)]
    if parsed.file:
        if parsed.file not in listing.files:
            raise RemoteError(f"{parsed.text}: no {parsed.file} in that folder")
        wanted = [n for n in wanted if n == parsed.file or n in METADATA_FILES]
    if not any(n.endswith(".xml") for n in wanted):
        raise RemoteError(f"{parsed.text}: no OpenVINO model there (no .xml file)")
    models = {}
    for name, data in zip(wanted, _parallel(lambda name: http.read(listing.url(name)), wanted)):
        (folder / name).write_bytes(data)
        if name.endswith(".xml") and name not in TOKENIZER_FILES:
            if f"{name[:-4]}.bin" not in listing.files:
                raise RemoteError(f"{parsed.text}: {name} has no {name[:-4]}.bin beside it")
            models[name] = parse_ir(data, f"{parsed.text}: {name}")
        elif name.endswith(".xml"):
            models[name] = None
    return models


def _fetch_weights(models: dict[str, IrFile | None], folder: Path, http: Http, full: bool, where) -> None:
    """Each model's ``.bin``: whole (``full``), or sparse with only the ranges the analysis reads."""
    jobs = []
    for name, ir in models.items():
        bin_name = name[:-4] + ".bin"
        url, total = where(bin_name)
        if ir is not None and ir.bin_size > total:
            raise RemoteError(f"{url}: {total} bytes, but {name} has constants up to byte {ir.bin_size}")
        target = folder / bin_name
        if full:
            jobs.append(functools.partial(http.download, url, target, total))
            continue
        with open(target, "wb") as f:
            f.truncate(total)
        ranges = [] if ir is None else [(c.offset, c.offset + c.size) for c in ir.read]
        ranges += _tie_rows(name, ir)
        jobs += [functools.partial(_read_into, http, url, target, total, *r) for r in coalesce(ranges)]
    _parallel(lambda job: job(), jobs)


def _read_into(http: Http, url: str, target: Path, total: int, start: int, stop: int) -> None:
    data = http.read_range(url, start, stop, total, http.etags.get(url, ""))
    with open(target, "r+b") as f:
        f.seek(start)
        f.write(data)


def _parallel(work, items) -> list:
    """``work`` on every item, :data:`PARALLEL_REQUESTS` at a time; the results in order (the first error raised)."""
    with concurrent.futures.ThreadPoolExecutor(PARALLEL_REQUESTS) as pool:
        return [future.result() for future in [pool.submit(work, item) for item in items]]


def _tie_rows(name: str, ir: IrFile | None) -> list[tuple[int, int]]:
    """The rows of a VLM's embedding table and LM head that tell whether the two are tied."""
    from ovmem.vlm.pipeline import tie_sample_rows

    if ir is None or name not in ("openvino_text_embeddings_model.xml", "openvino_language_model.xml"):
        return []
    largest = ir.largest()
    if largest is None or not largest.shape or not largest.shape[0]:
        return []
    row = largest.size // largest.shape[0]
    return [(largest.offset + r * row, largest.offset + (r + 1) * row) for r in tie_sample_rows(largest.shape[0])]
