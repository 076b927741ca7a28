#!/bin/bash
# try.sh  (env INPL/SYNCT/NOMASK passed through)
python ../cpu-planner-trace/emu.py /tmp/mpre.json ${POST:-/tmp/mt3552.rt.json} -e | python3 -c "
import sys,re
ev=[]
for l in sys.stdin:
    m=re.match(r'\s+exec\s+(\d+) G(\d+)\s+alloc\s+([\d.]+) free\s+([\d.]+)',l)
    if m and float(m.group(3))>0.5: ev.append((round(float(m.group(3)),2),'new' if float(m.group(4))==0 else 'rep%.2f'%float(m.group(4))))
    elif l.startswith('total') or l.startswith('last,(s,f)'): print(l.strip()[:150])
print('emu:  ',ev)
"
