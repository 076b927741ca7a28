"""Experiment 1b: compile openvino_tokenizer.xml / openvino_detokenizer.xml with plain ov.Core and compare the
constant bytes with the RSS they add.  usage: python ovtok_probe.py V"""
import os
import sys
sys.path.insert(0, "/work/main")
import numpy as np  # noqa: E402
import openvino as ov  # noqa: E402
from _rss import Stages  # noqa: E402

V = int(sys.argv[1])
d = f"/tmp/ovmem-cache/genai-tokenizers/wordlevel-v1-{V}-tok2026.4.1.0"
st = Stages(f"ovtok V={V}")
import openvino_tokenizers  # noqa: E402,F401
st.mark("import openvino_tokenizers")
core = ov.Core()
p = ov.opset13.parameter([1, 8], ov.Type.f32)
tiny = core.compile_model(ov.Model([ov.opset13.relu(p)], [p]), "CPU")
tiny(np.ones((1, 8), np.float32))
st.mark("CPU plugin loaded (1-op model)")
info = {}
for name in ("openvino_tokenizer", "openvino_detokenizer"):
    m = core.read_model(f"{d}/{name}.xml")
    consts = [op for op in m.get_ordered_ops() if op.get_type_name() == "Constant"]
    cb = sum(op.get_byte_size() for op in consts)
    big = sorted(((op.get_byte_size(), op.get_friendly_name(), str(op.get_element_type()), str(op.get_output_partial_shape(0))) for op in consts), reverse=True)[:4]
    info[name] = dict(bin=os.path.getsize(f"{d}/{name}.bin"), consts=cb, n=len(consts), big=big)
    st.mark(f"read {name}", const_MiB=cb / 2**20, bin_MiB=info[name]["bin"] / 2**20)
    cm = core.compile_model(m, "CPU")
    st.mark(f"compile {name}")
    del m
    st.mark(f"del model {name}")
    req = cm.create_infer_request()
    if name == "openvino_tokenizer":
        text = " ".join(f"w{1 + i % (V - 2)}" for i in range(256))
        req.infer([ov.Tensor(np.array([text]))])
        out = req.get_output_tensor(0).data
        st.mark(f"infer {name}", tokens=int(out.shape[-1]))
    else:
        req.infer([np.array([[1, 2, 3, 4, 5, V - 2]], dtype=np.int64)])
        st.mark(f"infer {name}")
    globals()["keep_" + name] = (cm, req)
for k, v in info.items():
    print(k, v, file=sys.stderr)
st.dump()
