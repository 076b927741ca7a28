"""Remote models (``ovmem.remote``): a local server speaking plain HTTP and the Hub's protocol
(``tools/model_server.py``, started and stopped here, ``HF_ENDPOINT`` pointing at it) serves the committed
fixtures; every remote analysis must equal the local one field for field, with only a share of the
``.bin`` fetched, the cache used on the second call, and every failure one line with a non-zero exit."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from schema_check import errors

import ovmem
from ovmem.cli import main
from ovmem.errors import UsageError
from ovmem.remote import fetch_model, parse_source
from ovmem.remote.reads import coalesce, parse_ir
from ovmem.schemas import schema_for
from ovmem.vlm.pipeline import analyze_pipeline

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "tools"))
from model_server import ModelServer

pytest.importorskip("huggingface_hub")

LLMS = sorted(p.name for p in FIXTURES.iterdir() if (p / "openvino_model.xml").is_file())
VLMS = sorted(p.name for p in FIXTURES.iterdir() if (p / "openvino_language_model.xml").is_file())
IMAGE = {"tiny-minicpmv2_6-f16": (448, 448), "tiny-internvl2_5-f16": (448, 448)}


@pytest.fixture(scope="module")
def server():
    with ModelServer(FIXTURES) as s:
        yield s


@pytest.fixture(autouse=True)
def isolated(server, tmp_path, monkeypatch):
    """A cache of this test's own, the Hub at the local server, no token, and a server with no failures."""
    monkeypatch.setenv("OVMEM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    server.ranges, server.token, server.gated, server.delay = True, None, set(), 0.0
    server.cut_short = server.change_etag = False
    server.reset_counts()
    yield


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- the analysis is the local one -------------------------------------------------------------------


@pytest.mark.parametrize("name", LLMS)
def test_remote_llm_equals_local(server, name):
    remote = fetch_model(f"hf://OpenVINO/{name}")
    assert not remote.cached and remote.traffic.requests > 0
    for runtime in ("ov", "genai"):
        here = ovmem.analyze(FIXTURES / name, seq_len=96, runtime=runtime).to_dict()
        there = ovmem.analyze(remote.path, seq_len=96, runtime=runtime).to_dict()
        assert there == here, runtime


@pytest.mark.parametrize("name", VLMS)
def test_remote_vlm_equals_local(server, name):
    remote = fetch_model(f"{server.url}/{name}/")  # plain HTTP: no listing, the layout's names are asked for
    image = IMAGE.get(name, (336, 336))
    for runtime in ("ov", "genai"):
        here = analyze_pipeline(FIXTURES / name, image=image, prompt_tokens=8, runtime=runtime).to_dict()
        there = analyze_pipeline(remote.path, image=image, prompt_tokens=8, runtime=runtime).to_dict()
        assert there == here, runtime
    assert sorted(p.name for p in remote.path.iterdir()) == sorted(
        p.name for p in (FIXTURES / name).iterdir() if p.suffix in (".xml", ".bin", ".json")
    )


def test_every_sparse_byte_that_was_not_fetched_is_a_hole(server):
    """The copy holds the fetched ranges as the server has them and zeros elsewhere; the .bin keeps its size."""
    remote = fetch_model("hf://OpenVINO/tiny-qwen2-int4")
    local = (FIXTURES / "tiny-qwen2-int4" / "openvino_model.bin").read_bytes()
    copy = (remote.path / "openvino_model.bin").read_bytes()
    assert len(copy) == len(local)
    ir = parse_ir((FIXTURES / "tiny-qwen2-int4" / "openvino_model.xml").read_bytes())
    for c in ir.read:
        assert copy[c.offset : c.offset + c.size] == local[c.offset : c.offset + c.size], c.layer
    fetched = coalesce((c.offset, c.offset + c.size) for c in ir.read)
    assert remote.traffic.weight_bytes == sum(b - a for a, b in fetched)
    outside = np.frombuffer(copy, np.uint8).copy()
    for a, b in fetched:
        outside[a:b] = 0
    assert not outside.any()


def test_traffic_is_what_the_server_sent_and_the_second_call_stays_local(server):
    first = fetch_model("hf://OpenVINO/tiny-llava-f16")
    assert first.traffic.bytes == server.bytes_sent
    redirected = [r for r in server.requests if r[1].startswith("/cdn/")]  # the .bin reads, each after a 302
    assert redirected and first.traffic.requests == len(server.requests) - 1 - len(redirected)  # 1: the listing
    assert first.traffic.weight_bytes < first.weights_bytes
    server.reset_counts()
    again = fetch_model("hf://OpenVINO/tiny-llava-f16")
    assert again.cached and again.path == first.path and server.requests == []
    assert again.traffic.requests == 0
    refreshed = fetch_model("hf://OpenVINO/tiny-llava-f16", refresh=True)
    assert not refreshed.cached and len(server.requests) > 0


def test_the_hub_token_stays_on_the_hub(server, monkeypatch):
    """A token reaches the Hub's own host; the redirect of a .bin to another host goes without it."""
    server.token = "secret"
    monkeypatch.setenv("HF_TOKEN", "secret")
    fetch_model("hf://OpenVINO/tiny-llama-f16")
    cdn = [r for r in server.requests if r[1].startswith("/cdn/")]
    hub = [r for r in server.requests if not r[1].startswith("/cdn/")]
    assert cdn and hub
    assert all(r[3] for r in hub) and not any(r[3] for r in cdn)
    assert all(r[2] for r in cdn)  # the .bin is read in ranges, never whole


def test_weights_from_a_url_for_a_local_xml(server, tmp_path):
    folder = tmp_path / "tiny-qwen2-f16"
    folder.mkdir()
    for name in ("openvino_model.xml", "config.json"):
        shutil.copy(FIXTURES / "tiny-qwen2-f16" / name, folder)
    url = f"{server.url}/tiny-qwen2-f16/openvino_model.bin"
    with pytest.raises(ovmem.ModelError, match="weights file openvino_model.bin is missing"):
        ovmem.analyze(folder, seq_len=64)
    from ovmem.remote import fetch_weights

    remote = fetch_weights(folder, url)
    assert ovmem.analyze(remote.path, seq_len=64).to_dict() == ovmem.analyze(FIXTURES / "tiny-qwen2-f16", seq_len=64).to_dict()
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "openvino_model.xml"]  # nothing written there


def test_cli_commands_take_remote_models(server, capsys):
    qwen = "hf://OpenVINO/tiny-qwen2-f16"
    code, out, _ = _cli(capsys, "analyze", qwen, "--seq-len", "64", "--json")
    data = json.loads(out)
    assert code == 0 and errors(data, schema_for("report")) == []
    assert data["remote"]["source"] == qwen and not data["remote"]["from_cache"]
    assert data["remote"]["fetched_weight_bytes"] < data["remote"]["weights_bytes"]
    del data["remote"]
    assert _cli(capsys, "analyze", str(FIXTURES / "tiny-qwen2-f16"), "--seq-len", "64", "--json")[1] == json.dumps(data, indent=2) + "\n"
    code, out, _ = _cli(capsys, "llm", qwen, "64")
    assert code == 0 and out.splitlines()[-1].endswith("from ovmem's cache (no network)")
    for args, schema in (
        (["vlm", f"{server.url}/tiny-llava-f16", "--image", "336x336", "--json"], "pipeline-report"),
        (["vit", f"{server.url}/tiny-llava-f16", "--image", "336x336", "--json"], "pipeline-report"),
        (["sweep", qwen, "--seq-len", "16,64", "--json"], "sweep"),
        (["whatif", qwen, "--seq-len", "64", "--vs", "kv-cache-precision=u4", "--json"], "whatif"),
        (["analyze", qwen, "--budget", "4MiB", "--json"], "budget-limit"),
        (["compare-allocators", qwen, "--seq-len", "16", "--json"], "compare"),
    ):
        code, out, err = _cli(capsys, *args)
        assert code == 0, err
        data = json.loads(out)
        assert errors(data, schema_for(schema)) == [] and "remote" in data, args
    code, out, _ = _cli(capsys, "dump", qwen, "--seq-len", "8")
    assert code == 0 and "MatMul" in out
    code, out, _ = _cli(capsys, "cache", "list", "--json")
    listed = json.loads(out)
    assert errors(listed, schema_for("cache")) == []
    assert {e["source"] for e in listed["remote"]} == {qwen, f"{server.url}/tiny-llava-f16"}
    assert all(0 < e["disk_bytes"] for e in listed["remote"])
    assert _cli(capsys, "cache", "clear")[0] == 0
    assert json.loads(_cli(capsys, "cache", "list", "--json")[1])["remote"] == []


def test_concurrent_fetches_of_one_model_leave_one_entry(server):
    results, failures = [], []

    def run() -> None:
        try:
            results.append(fetch_model("hf://OpenVINO/tiny-phi3-f16"))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert len({r.path for r in results}) == 1
    entries = [p for p in results[0].cache_folder.parent.iterdir()]
    assert [p.name for p in entries] == [results[0].cache_folder.name]  # no staging left behind
    assert ovmem.analyze(results[0].path, seq_len=32).total_bytes == ovmem.analyze(FIXTURES / "tiny-phi3-f16", seq_len=32).total_bytes


# --- failures: one line, non-zero --------------------------------------------------------------------


def _fails(capsys, *args: str) -> str:
    code, out, err = _cli(capsys, *args)
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and err.startswith("ovmem: error: "), err
    return err


def test_access_denied_and_gated_say_how_to_log_in(server, capsys):
    server.token = "secret"
    assert "hf auth login" in _fails(capsys, "analyze", "hf://OpenVINO/tiny-qwen2-f16")
    assert "access denied (HTTP 401)" in _fails(capsys, "analyze", f"{server.url}/tiny-qwen2-f16/")
    server.token = None
    server.gated = {"OpenVINO/tiny-qwen2-f16"}
    assert "gated" in _fails(capsys, "analyze", "hf://OpenVINO/tiny-qwen2-f16")


def test_not_found(server, capsys):
    assert "no such model" in _fails(capsys, "analyze", "hf://OpenVINO/no-such-model")
    assert "no revision 'v9'" in _fails(capsys, "analyze", "hf://OpenVINO/tiny-qwen2-f16@v9")
    assert "no folder 'sub'" in _fails(capsys, "analyze", "hf://OpenVINO/tiny-qwen2-f16/sub")
    assert "no OpenVINO model there" in _fails(capsys, "analyze", f"{server.url}/no-such-folder/")
    assert "not found (HTTP 404)" in _fails(capsys, "analyze", f"{server.url}/tiny-qwen2-f16/other.xml")


def test_no_network(capsys, monkeypatch):
    with ModelServer(FIXTURES) as gone:
        url = gone.url
    monkeypatch.setenv("HF_ENDPOINT", url)
    assert "cannot reach 127.0.0.1" in _fails(capsys, "analyze", f"{url}/tiny-qwen2-f16/")
    assert "cannot reach" in _fails(capsys, "analyze", "hf://OpenVINO/tiny-qwen2-f16")


def test_a_server_without_ranges_needs_full_download(server, capsys):
    server.ranges = False
    err = _fails(capsys, "analyze", f"{server.url}/tiny-llama-f16/")
    assert "does not honour HTTP Range requests" in err and "--full-download" in err
    code, out, err = _cli(capsys, "analyze", f"{server.url}/tiny-llama-f16/", "--full-download", "--seq-len", "32", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["remote"]["fetched_weight_bytes"] == data["remote"]["weights_bytes"]
    del data["remote"]
    assert data == json.loads(_cli(capsys, "analyze", str(FIXTURES / "tiny-llama-f16"), "--seq-len", "32", "--json")[1])


def test_truncated_and_changed_files(server, capsys):
    server.cut_short = True
    assert "truncated" in _fails(capsys, "analyze", f"{server.url}/tiny-llama-f16/")
    server.cut_short = False
    server.change_etag = True
    assert "changed on the server" in _fails(capsys, "analyze", f"{server.url}/tiny-llama-f16/")


def test_a_slow_server_times_out(server, capsys):
    server.delay = 1.0
    assert "no answer within 0.2 s (--timeout)" in _fails(capsys, "analyze", f"{server.url}/tiny-llama-f16/", "--timeout", "0.2")
    assert "did not answer within 0.2 s" in _fails(capsys, "analyze", "hf://OpenVINO/tiny-llama-f16", "--timeout", "0.2")


def test_files_that_are_not_a_model(tmp_path, capsys):
    bad = tmp_path / "served"
    (bad / "not-ir").mkdir(parents=True)
    (bad / "not-ir" / "openvino_model.xml").write_text("<html>a login page</html>")
    (bad / "not-ir" / "openvino_model.bin").write_bytes(b"\0" * 16)
    short = bad / "short"
    shutil.copytree(FIXTURES / "tiny-llama-f16", short)
    with open(short / "openvino_model.bin", "r+b") as f:
        f.truncate(1000)
    with ModelServer(bad) as s:
        assert "not an OpenVINO IR" in _fails(capsys, "analyze", f"{s.url}/not-ir/")
        assert "has constants up to byte" in _fails(capsys, "analyze", f"{s.url}/short/openvino_model.xml")
    assert "measure runs the model" in _fails(capsys, "measure", "hf://OpenVINO/tiny-llama-f16")
    assert "--weights-from needs a local .xml" in _fails(capsys, "analyze", "hf://OpenVINO/x", "--weights-from", "http://h/x.bin")


# --- what is read, from the .xml -------------------------------------------------------------------


def test_sources_parse():
    hub = parse_source("hf://OpenVINO/Qwen2-VL-2B-int4-ov@v1.0/sub/dir")
    assert (hub.repo, hub.revision, hub.subfolder, hub.file, hub.name) == ("OpenVINO/Qwen2-VL-2B-int4-ov", "v1.0", "sub/dir", None, "dir")
    one = parse_source("hf://OpenVINO/m/openvino_model.xml")
    assert (one.subfolder, one.file, one.name) == ("", "openvino_model.xml", "m")
    http = parse_source("https://host/a/b/openvino_language_model.xml")
    assert (http.folder_url, http.file, http.name) == ("https://host/a/b/", "openvino_language_model.xml", "b")
    assert parse_source("http://host/a/b").folder_url == "http://host/a/b/"
    for bad in ("hf://just-a-name", "ftp://x/y", "http://host/a/b.bin", "https://host/a?x=1"):
        with pytest.raises(UsageError):
            parse_source(bad)
    ranges = [(10, 20), (0, 5), (25, 30), (1000, 1010), (12, 14)]
    assert coalesce(ranges, gap=5) == [(0, 5), (10, 20), (25, 30), (1000, 1010)]
    assert coalesce(ranges, gap=6) == [(0, 30), (1000, 1010)]


def test_the_walk_finds_shape_constants_by_what_they_feed_not_their_size(tmp_path):
    """A 100-element i64 table read through a Gather into a Reshape's target is needed (shape inference
    reads it); a 100-element f32 bias and a large weight are not; Interpolate's f32 scales are."""
    x = ov.opset13.parameter([-1, 4096], ov.Type.f32, name="x")
    table = ov.opset13.constant(np.arange(100, dtype=np.int64), name="shape_table")
    target = ov.opset13.gather(table, ov.opset13.constant(np.array([1, 64], np.int64), name="picks"), 0)
    weight = ov.opset13.constant(np.ones((4096, 128), np.float32), name="weight")
    bias = ov.opset13.constant(np.ones(128, np.float32) * 0.5, name="bias")
    y = ov.opset13.add(ov.opset13.matmul(x, weight, False, False), bias)
    reshaped = ov.opset13.reshape(y, target, False)
    image = ov.opset13.parameter([1, 3, 8, 8], ov.Type.f32, name="image")
    scales = ov.opset13.constant(np.array([2.0, 2.0], np.float32), name="scales")
    axes = ov.opset13.constant(np.array([2, 3], np.int64), name="axes")
    up = ov.opset11.interpolate(image, scales, "nearest", "scales", axes=axes)
    model = ov.Model([reshaped, up], [x, image])
    ov.save_model(model, tmp_path / "m.xml", compress_to_fp16=False)
    ir = parse_ir((tmp_path / "m.xml").read_bytes())
    names = {c.layer for c in ir.read}
    assert {"shape_table", "picks", "scales", "axes"} <= names
    assert "weight" not in names and "bias" not in names  # 4096 x 128 and 128 floats: data, not shapes
    with pytest.raises(ovmem.ModelError, match="not an OpenVINO IR"):
        parse_ir(b"<html/>")


def test_the_readme_example_runs_as_written(capsys, monkeypatch):
    """README "Before you download": the server line, then each ovmem command (a free port if 8000 is taken)."""
    import re
    import shlex

    section = (ROOT / "README.md").read_text().split("## Before you download", 1)[1].split("\n## ", 1)[0]
    block = next(b for b in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL) if "model_server.py" in b)
    serve, *commands = block.strip().splitlines()
    root, port = re.fullmatch(r"python tools/model_server.py (\S+) --port (\d+) &", serve).groups()
    try:
        server = ModelServer(ROOT / root, int(port))
    except OSError:
        server = ModelServer(ROOT / root)
    with server:
        for command in commands:
            command = command.replace(f":{port}", f":{server.port}")
            words = shlex.split(command)
            while "=" in words[0]:
                key, value = words.pop(0).split("=", 1)
                monkeypatch.setenv(key, value)
            assert words[0] == "ovmem"
            code, out, err = _cli(capsys, *words[1:])
            assert code == 0, err
            assert re.search(r"^  total .*MiB$", out, flags=re.MULTILINE)
            assert out.splitlines()[-1].startswith(("remote: hf://OpenVINO/tiny-qwen2-f16 @ ", f"remote: {server.url}/"))
