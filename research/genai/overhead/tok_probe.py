"""Experiment 1a: genai Tokenizer (tokenizer + detokenizer) alone, for a generated word-level vocabulary of V.
The CPU plugin is loaded first (compile + infer of a one-op model) so that its library/threads are not
counted as tokenizer cost (the LLM pipeline loads it anyway).
usage: python tok_probe.py V [noplugin]"""
import sys
sys.path.insert(0, "/work/main")
import numpy as np  # noqa: E402
import openvino as ov  # noqa: E402
from ovmem.genai_measure import generated_tokenizer  # noqa: E402
from _rss import Stages  # noqa: E402

V = int(sys.argv[1])
warm = "noplugin" not in sys.argv[2:]
d = generated_tokenizer(V, cache_dir="/tmp/ovmem-cache")
st = Stages(f"tok V={V}")
import openvino_genai as genai  # noqa: E402
st.mark("import openvino_genai")
if warm:
    p = ov.opset13.parameter([1, 8], ov.Type.f32)
    tiny = ov.Core().compile_model(ov.Model([ov.opset13.relu(p)], [p]), "CPU")
    tiny(np.ones((1, 8), np.float32))
    st.mark("CPU plugin loaded (1-op model)")
tok = genai.Tokenizer(str(d))
st.mark("Tokenizer(dir)")
text = " ".join(f"w{1 + i % (V - 2)}" for i in range(256))
enc = tok.encode(text)
n = enc.input_ids.get_shape()[-1]
st.mark("encode 256 words", tokens=int(n))
out = tok.decode([1, 2, 3, 4, 5, V - 2])
st.mark("decode 6 ids")
for _ in range(3):
    tok.encode(text); tok.decode(list(range(1, 200)))
st.mark("3x more encode/decode")
del tok, enc
st.mark("del tokenizer")
st.dump()
