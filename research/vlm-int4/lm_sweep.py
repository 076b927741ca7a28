"""Language model alone: estimate vs measurement over prompt lengths, optionally with properties.
usage: lm_sweep.py FOLDER 'SEQ,SEQ,...' [KEY=VALUE ...]"""
import json, sys
from pathlib import Path
import ovmem
from ovmem.measure import measure
M = 2**20
folder = Path(sys.argv[1]); seqs = [int(s) for s in sys.argv[2].split(",")]
props = dict(a.split("=", 1) for a in sys.argv[3:])
xml = folder / "openvino_language_model.xml"
for s in seqs:
    rep = ovmem.analyze(xml, device="CPU", seq_len=s)
    m = measure(xml, device="CPU", seq_len=s, properties=props or None)
    row = dict(model=folder.name, seq=s, props=props, est=rep.total_bytes / M, est_w=rep.weights_bytes / M,
               est_temp=rep.temp_peak_bytes / M, est_scratch=rep.scratch_bytes / M, est_io=rep.io_bytes / M,
               est_state=rep.state_bytes / M, meas=m.peak_rss_bytes / M, anon=m.anon_at_peak / M, file=m.file_at_peak / M)
    row["d"] = row["est"] - row["meas"]
    print(json.dumps(row), flush=True)
