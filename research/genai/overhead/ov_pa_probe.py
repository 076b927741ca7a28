"""Experiment 2b: a plain OpenVINO compile + one prefill infer of the same PA-transformed model genai compiles
(SDPAToPagedAttention with genai's flags + Gather of the sampled row before the LM head), no genai objects.
usage: python ov_pa_probe.py FOLDER N [genai]   (genai: also `import openvino_genai` first, to include its library)"""
import sys
sys.path.insert(0, "/work/main")
import numpy as np  # noqa: E402
import openvino as ov  # noqa: E402
from openvino._offline_transformations import paged_attention_transformation  # noqa: E402
from ovmem.genai import gather_sampled_tokens  # noqa: E402
from _rss import Stages  # noqa: E402

folder, N = sys.argv[1], int(sys.argv[2])
st = Stages(f"ov PA {folder} N={N}")
if "genai" in sys.argv[3:]:
    import openvino_genai  # noqa: F401
    st.mark("import openvino_genai")
core = ov.Core()
model = core.read_model(f"{folder}/openvino_model.xml")
paged_attention_transformation(model, False, False, True, False, False, False)
gather_sampled_tokens(model)
n_ops = len(model.get_ops())
st.mark("read + PA transform", ops=n_ops)
cm = core.compile_model(model, "CPU")
del model
st.mark("compile_model")
req = cm.create_infer_request()
nb = -(-(N + 1) // 32)
feeds = {}
for inp in cm.inputs:
    name, ps, et = inp.get_any_name(), inp.get_partial_shape(), inp.get_element_type()
    if name.startswith(("key_cache.", "value_cache.")):
        shape = [nb] + [d.get_length() for d in list(ps)[1:]]
        feeds[name] = ov.Tensor(et, shape)  # uninitialised, like genai's allocator
    elif name == "input_ids":
        feeds[name] = ov.Tensor((np.arange(N) % 100 + 10).astype(np.int64))
    elif name == "position_ids":
        feeds[name] = ov.Tensor(np.arange(N, dtype=np.int64))
    elif name == "past_lens":
        feeds[name] = ov.Tensor(np.array([0], np.int32))
    elif name == "subsequence_begins":
        feeds[name] = ov.Tensor(np.array([0, N], np.int32))
    elif name == "block_indices":
        feeds[name] = ov.Tensor(np.arange(nb, dtype=np.int32))
    elif name == "block_indices_begins":
        feeds[name] = ov.Tensor(np.array([0, nb], np.int32))
    elif name == "max_context_len":
        feeds[name] = ov.Tensor(np.array(N, np.int32))
    elif name == "score_aggregation_window":
        feeds[name] = ov.Tensor(np.array([0], np.int32))
    elif name == "sampled_tokens_indices":
        feeds[name] = ov.Tensor(np.array([N - 1], np.int64))
    else:
        raise SystemExit(f"unknown input {name} {ps} {et}")
st.mark("infer request + inputs", kv_blocks=nb)
req.infer(feeds)
out = req.get_tensor("logits")
st.mark("infer (prefill)", logits=str(out.shape))
rt = cm.get_runtime_model()
types = {}
for op in rt.get_ops():
    t = op.get_rt_info()["layerType"].astype(str) if "layerType" in op.get_rt_info() else op.get_type_name()
    types[t] = types.get(t, 0) + 1
print("runtime nodes", len(rt.get_ops()), sorted(types.items(), key=lambda kv: -kv[1])[:12], file=sys.stderr)
del rt
st.mark("(after reading runtime model)", runtime_nodes=sum(types.values()))
st.dump()
