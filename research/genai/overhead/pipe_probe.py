"""Experiment 2: decompose an LLMPipeline run into stages.
usage: python pipe_probe.py FOLDER tok|notok|tokfirst N1[,N2,...] [M]
  tok      : Tokenizer(generated dir) then LLMPipeline(folder, tokenizer, CPU)  (what ovmem measure does)
  notok    : LLMPipeline(folder, CPU) without tokenizer files -> genai's empty tokenizer; prompts as token ids
  tokafter : LLMPipeline(folder, CPU) first, then Tokenizer(dir) built afterwards (not given to the pipeline)
Each N is one generate(prompt of N tokens, max_new_tokens=M=1)."""
import json
import os
import sys
sys.path.insert(0, "/work/main")
import numpy as np  # noqa: E402
import openvino as ov  # noqa: E402
from ovmem.genai_measure import generated_tokenizer, _vocab_size, _CaptureStdout, _parse_compiled_models  # noqa: E402
from pathlib import Path  # noqa: E402
from _rss import Stages  # noqa: E402

folder, mode, ns = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(",")]
M = int(sys.argv[4]) if len(sys.argv) > 4 else 1
V = _vocab_size(Path(folder))
d = generated_tokenizer(V, cache_dir="/tmp/ovmem-cache")
st = Stages(f"pipe {Path(folder).name} {mode} N={ns} M={M}")
import openvino_genai as genai  # noqa: E402
st.mark("import openvino_genai")
os.environ["OPENVINO_LOG_LEVEL"] = "3"
with _CaptureStdout() as cap:
    if mode == "tok":
        tok = genai.Tokenizer(str(d))
        st.mark("Tokenizer(dir)")
        pipe = genai.LLMPipeline(folder, tok, "CPU")
    else:
        pipe = genai.LLMPipeline(folder, "CPU")
st.mark("LLMPipeline(...)")
print("compiled:", list(_parse_compiled_models(cap.text)), file=sys.stderr)
if mode == "tokafter":
    tok2 = genai.Tokenizer(str(d))
    st.mark("Tokenizer(dir) after pipeline")
cfg = pipe.get_generation_config()
cfg.max_new_tokens = M; cfg.min_new_tokens = M; cfg.ignore_eos = True; cfg.do_sample = False
cfg.apply_chat_template = False; cfg.stop_strings = set(); cfg.stop_token_ids = set()
for n in ns:
    if mode == "tok":
        prompt = [" ".join(f"w{1 + i % (V - 2)}" for i in range(n))]
    else:
        prompt = ov.Tensor((np.arange(n, dtype=np.int64) % 100 + 10).reshape(1, n))
    r = pipe.generate(prompt, cfg)
    pm = r.perf_metrics
    st.mark(f"generate N={n} M={M}", in_tok=int(pm.get_num_input_tokens()), out_tok=int(pm.get_num_generated_tokens()))
st.dump()
