"""Where the ov::Model of a read (and PA-transformed) export sits in RSS: read_model, PA transform, del.
usage: python read_probe.py FOLDER"""
import sys
sys.path.insert(0, "/work/main")
import openvino as ov  # noqa: E402
from openvino._offline_transformations import paged_attention_transformation  # noqa: E402
from _rss import Stages  # noqa: E402

folder = sys.argv[1]
st = Stages(f"read {folder}")
core = ov.Core()
model = core.read_model(f"{folder}/openvino_model.xml")
consts = [op for op in model.get_ops() if op.get_type_name() == "Constant"]
st.mark("read_model", ops=len(model.get_ops()), consts=len(consts), const_MiB=round(sum(c.get_byte_size() for c in consts) / 2**20, 1))
paged_attention_transformation(model, False, False, True, False, False, False)
consts = [op for op in model.get_ops() if op.get_type_name() == "Constant"]
st.mark("PA transform", ops=len(model.get_ops()), consts=len(consts), const_MiB=round(sum(c.get_byte_size() for c in consts) / 2**20, 1))
del model, consts
st.mark("del model")
st.dump()
