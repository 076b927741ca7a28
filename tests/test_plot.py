"""--plot: real PNG and SVG files with the expected series, and a friendly error without matplotlib."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import ovmem
from ovmem.cli import main
from ovmem.errors import UsageError
from ovmem.models.llama import LlamaConfig, build_llama

pytest.importorskip("matplotlib")  # the dev extra installs it

from ovmem.plot import PLOT_HINT, plot_sweep, plot_timeline

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SERIES = ("weights", "KV cache (states)", "inputs + outputs", "temporaries live", "arena (greedy-by-size)", "total")


@pytest.fixture(scope="module")
def demo() -> ovmem.MemoryReport:
    return ovmem.analyze(build_llama(LlamaConfig()), seq_len=1024, device="generic")


def _texts(fig) -> list[str]:
    """Every text a figure draws: legends, annotations, titles, tick labels."""
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def test_png_timeline_has_the_series_and_the_peak(demo, tmp_path):
    path = tmp_path / "timeline.png"
    fig = plot_timeline(demo, path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and 10_000 < len(data) < 150_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1000, 640)
    whole, zoom = fig.axes[:2]
    labels = [t.get_text() for ax in (whole, zoom) for t in ax.get_legend().get_texts()]
    for series in SERIES:
        assert any(label.startswith(series) for label in labels), (series, labels)
    assert "arena (greedy-by-size) 23.00 MiB" in labels and "weights 84.01 MiB" in labels
    assert any("Multiply 'model.layers.0.mlp/gated'" in t and f"step {demo.peak.step}" in t for t in _texts(fig))
    # the temporaries drawn are the live bytes, and their top is the lower bound
    top = max(max(p.vertices[:, 1]) for p in zoom.collections[0].get_paths())
    assert top == pytest.approx(23.0)


def test_svg_timeline_is_xml_with_text(demo, tmp_path):
    path = tmp_path / "timeline.svg"
    plot_timeline(demo, path)
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for series in SERIES:
        assert series in text
    assert "Multiply 'model.layers.0.mlp/gated'" in text and "model.layers.N" in text
    assert "<dc:date>" not in path.read_text()  # no creation date: the same report, the same file


def test_plot_sweep_draws_each_part_against_the_length(tmp_path):
    points = [(s, ovmem.analyze(build_llama(LlamaConfig(num_layers=1)), seq_len=s, device="generic")) for s in (256, 64, 128)]
    fig = plot_sweep(points, tmp_path / "sweep.svg")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"total", "weights", "KV cache (states)", "inputs + outputs", "peak temporary"}
    assert list(lines["total"].get_xdata()) == [64, 128, 256]
    assert [y * 2**20 for y in lines["total"].get_ydata()] == pytest.approx([r.total_bytes for _, r in sorted(points, key=lambda p: p[0])])
    ET.parse(tmp_path / "sweep.svg")
    with pytest.raises(UsageError):
        plot_sweep([], None)


def test_cli_plot_writes_the_file(tmp_path, capsys):
    path = tmp_path / "demo.png"
    assert main(["demo", "--seq-len", "64", "--plot", str(path)]) == 0
    out, err = capsys.readouterr()
    assert path.read_bytes().startswith(PNG_MAGIC) and f"wrote {path}" in err and "explain:" in out
    assert main(["demo", "--seq-len", "64", "--plot", str(tmp_path / "demo.gif")]) == 2
    assert "give a file ending in .png, .svg" in capsys.readouterr().err


def test_cli_plot_of_a_vlm_draws_its_largest_part(tmp_path, capsys):
    path = tmp_path / "vlm.svg"
    code = main(["vlm", str(ROOT / "tests/fixtures/tiny-llava-f16"), "--image", "336x336", "--prompt-tokens", "16",
                 "--runtime", "ov", "--plot", str(path)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    text = "".join(ET.parse(path).getroot().itertext())
    # the part whose peak is the pipeline's (here the vision tower: its MHA scratch outweighs the tiny LM's logits)
    assert re.search(r"tiny-llava-f16 \w+ \(\w+\)", text) and re.search(r"model\.\w+(\.\w+)*\.layers\.N", text)


def test_without_matplotlib_plot_says_how_to_install_it(monkeypatch, capsys, tmp_path):
    code = main(["demo", "--seq-len", "32"])
    plain = capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert main(["demo", "--seq-len", "32"]) == code == 0
    assert capsys.readouterr().out == plain  # the text is the same without it
    assert main(["demo", "--seq-len", "32", "--plot", str(tmp_path / "x.png")]) == 2
    out, err = capsys.readouterr()
    assert err.strip() == f"ovmem: error: {PLOT_HINT}" and out == "" and not (tmp_path / "x.png").exists()
    with pytest.raises(UsageError, match=re.escape("pip install 'ovmem[plot]'")):
        plot_timeline(ovmem.analyze(build_llama(LlamaConfig(num_layers=1)), seq_len=8, device="generic"))


def test_the_committed_screenshot_is_a_small_png_the_readme_shows():
    shot = ROOT / "docs" / "timeline.png"
    assert shot.read_bytes().startswith(PNG_MAGIC) and shot.stat().st_size < 150_000
    readme = (ROOT / "README.md").read_text()
    assert "](docs/timeline.png)" in readme
    assert "ovmem analyze --seq-len 2048 --plot docs/timeline.png" in readme
