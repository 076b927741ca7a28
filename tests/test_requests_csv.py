"""Buffer requests in MiniMalloc's CSV (ovmem/alloc/requests_csv.py): read, written, and through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ovmem.alloc import BufferRequest, get_allocator, lower_bound, read_requests, write_requests
from ovmem.alloc.requests_csv import capacity_in_name
from ovmem.cli import main
from ovmem.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
MINIMALLOC = ROOT / "bench" / "data" / "minimalloc"
QWEN = str(ROOT / "tests" / "fixtures" / "tiny-qwen2-f16")


def test_the_minimalloc_set_reads_and_writes_back_byte_for_byte(tmp_path):
    files = sorted(MINIMALLOC.glob("*.csv"))
    assert len(files) == 11
    for path in files:
        requests = read_requests(path)
        assert capacity_in_name(path) == 2**20
        assert lower_bound(requests) <= 2**20 and all(r.end >= r.start for r in requests)
        write_requests(tmp_path / path.name, requests)
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()


def test_half_open_lifetimes_become_inclusive(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,lower,upper,size\na,0,3,10\nb,3,5,20\n")
    assert read_requests(path) == [BufferRequest("a", 10, 0, 2), BufferRequest("b", 20, 3, 4)]
    assert lower_bound(read_requests(path)) == 20  # [0,3) and [3,5) never live together
    path.write_text("buffer_id,start,end,size,gaps,hint\na,0,2,10,1-2,-1\n")  # MiniMalloc's other names
    assert read_requests(path) == [BufferRequest("a", 10, 0, 2)]  # inclusive 'end'; a gap is read as live


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,lower,size\na,0,1\n", "no 'upper'"),
        ("id,upper,size\na,1,1\n", "no 'lower'"),
        ("id,lower,upper,size\na,0,1,x\n", r"x.csv:2: not a buffer row"),
        ("id,lower,upper,size\na,0,1\n", r"x.csv:2: not a buffer row"),
        ("id,lower,upper,size\na,2,1,4\n", r"x.csv:2: not a buffer row .*end 0 < start 2"),
        ("id,lower,upper,size\na,0,1,4\na,1,2,4\n", "ids are not unique"),
        ("id,lower,upper,size,alignment\na,0,1,4,64\n",
         r"x.csv:2: per-buffer alignment is not supported \(use an allocator's alignment\)$"),
        ("", "no 'id' column"),
    ],
)
def test_what_is_not_a_request_file_is_said(tmp_path, text, message):
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        read_requests(path)


def test_written_ids_and_names_stay_in_their_columns(tmp_path):
    with pytest.raises(ValueError, match="comma"):
        write_requests(tmp_path / "x.csv", [BufferRequest("a,b", 1, 0, 0)])
    write_requests(tmp_path / "x.csv", [BufferRequest(0, 8, 1, 2)], names=["Add, the\nsecond"])
    assert (tmp_path / "x.csv").read_text() == "id,lower,upper,size,value\n0,1,3,8,Add; the second\n"


def test_dump_buffers_and_compare_requests_plan_what_the_model_plans(tmp_path, capsys):
    csv = tmp_path / "qwen.csv"
    assert main(["dump", QWEN, "--seq-len", "64", "--buffers", str(csv)]) == 0
    assert f"to {csv}" in capsys.readouterr().err
    assert main(["compare-allocators", QWEN, "--seq-len", "64", "--json"]) == 0
    from_model = json.loads(capsys.readouterr().out)
    assert main(["compare-allocators", "--requests", str(csv), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert from_file["requests"] == from_model["requests"] == len(read_requests(csv)) > 10
    assert from_file["lower_bound_bytes"] == from_model["lower_bound_bytes"]
    peaks = {r["allocator"]: r["peak"] for r in from_file["allocators"]}
    assert peaks == {r["allocator"]: r["peak"] for r in from_model["allocators"]}
    assert peaks["greedy-by-size"] == get_allocator("greedy-by-size").allocate(read_requests(csv)).peak


def test_compare_requests_says_what_exceeds_the_capacity(capsys):
    assert main(["compare-allocators", "--requests", str(MINIMALLOC / "A.1048576.csv")]) == 0
    out = capsys.readouterr().out
    assert "154 buffers, lower bound 1.00 MiB, capacity 1.00 MiB (in the file name)" in out
    assert "naive" in out and "over the capacity" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare-allocators", QWEN, "--requests", "x.csv"], "a model or --requests FILE.csv, not both"),
        (["compare-allocators", "--requests", "/no/such.csv"], "/no/such.csv: cannot read"),
    ],
)
def test_bad_requests_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
