"""Child of probe_kernels.py group ``multi``: compile the same graph n times in one process (separate
read_model + compile_model + create_infer_request + infer, all kept alive, as a VLM pipeline keeps its
parts): RSS above the post-import baseline. (n=3 − n=1)/2 = the cost of one more compiled model.
Usage: multi_compile.py model.xml n"""
import sys, json, numpy as np
import openvino as ov
def st():
    d={}
    for l in open('/proc/self/status'):
        k,_,v=l.partition(':')
        if k in ('VmRSS','RssAnon','RssFile'): d[k]=int(v.split()[0])*1024
    return d
b=st()
core=ov.Core()
xml=sys.argv[1]; n=int(sys.argv[2])
keep=[]
for i in range(n):
    m=core.read_model(xml)
    cm=core.compile_model(m,'CPU',{"INFERENCE_NUM_THREADS":2})
    r=cm.create_infer_request()
    ins={p.get_any_name(): np.random.rand(*[d if d>0 else 16 for d in [x.get_length() if x.is_static else -1 for x in p.get_partial_shape()]]).astype(np.float32) for p in cm.inputs}
    r.infer(ins)
    keep.append((m,cm,r))
e=st()
print(json.dumps({k:(e[k]-b[k])/2**20 for k in e}))
