#!/usr/bin/env python
"""Load every IR of a MiniCPM-V export and run vision embeddings + resampler once (ovmem dev venv).

    .venv/bin/python research/remote-code/minicpmv_check.py IR_DIR INPUTS.npz

INPUTS.npz comes from ``tools/remote_code/minicpmv.py --runtime-inputs`` (export venv): the arrays
optimum-intel's ``_OVMiniCPMVForCausalLM.get_vision_embeddings`` / ``resampling`` feed the two IRs
for one image, after the version's real image processor.  The resampler gets the vision IR's output
as ``image_feature``, as at runtime.  Needs only openvino + numpy.
"""

import resource
import sys
import time
from pathlib import Path

import numpy as np
import openvino as ov


def main(ir_dir: Path, npz: Path) -> int:
    core = ov.Core()
    data = dict(np.load(npz))
    print(f"{ir_dir.name}: tgt_sizes (h, w patches per slice) = {data['tgt_sizes'].tolist()}")
    models = {}
    for xml in sorted(ir_dir.glob("openvino_*_model.xml")):
        m = core.read_model(xml)
        models[xml.stem] = m
        print(f"  {xml.name}  ({xml.with_suffix('.bin').stat().st_size:,d} B bin)")
        for p in m.inputs:
            print(f"    in  {p.get_any_name():<24} {str(p.get_element_type()):<5} {p.get_partial_shape()}")
        for p in m.outputs:
            print(f"    out {p.get_any_name():<24} {str(p.get_element_type()):<5} {p.get_partial_shape()}")
        sinks = len(m.get_sinks())
        if sinks:
            print(f"    state (ReadValue/Assign pairs): {sinks}")

    vision = core.compile_model(models["openvino_vision_embeddings_model"], "CPU")
    feeds = {k.split(".", 1)[1]: v for k, v in data.items() if k.startswith("vision.")}
    t = time.perf_counter()
    vout = vision(feeds)[0]
    tv = time.perf_counter() - t
    print(
        f"  vision: {', '.join(f'{k}{list(v.shape)}' for k, v in feeds.items())} -> {list(vout.shape)} "
        f"{vout.dtype} finite={np.isfinite(vout).all()}  {tv:.2f} s"
    )

    resampler = core.compile_model(models["openvino_resampler_model"], "CPU")
    rfeeds = {
        "image_feature": vout,
        "pos_embed": data["resampler.pos_embed"],
        "key_padding_mask": data["resampler.key_padding_mask"],
    }
    t = time.perf_counter()
    rout = resampler(rfeeds)[0]
    tr = time.perf_counter() - t
    print(
        f"  resampler: {', '.join(f'{k}{list(v.shape)}' for k, v in rfeeds.items())} -> {list(rout.shape)} "
        f"{rout.dtype} finite={np.isfinite(rout).all()}  {tr:.2f} s"
    )
    print(f"  max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
