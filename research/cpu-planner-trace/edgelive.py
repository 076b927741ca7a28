import sys
tr=sys.argv[1]
live={}; ph=None
for l in open(tr):
    p=l.split()
    if p[0]=='M': ph=p[1]; continue
    if ph!='infer': continue
    if p[0]=='A' and len(p)>8 and p[8].endswith('bdf0'): live[p[2]]=int(p[3])
    elif p[0]=='F': live.pop(p[2],None)
v=sorted(live.values(),reverse=True)
print([round(x/2**20,3) for x in v], sum(v)/2**20)
