"""Trace edge-block events vs emu -e events: (size, 'new' | index of the replaced block)."""
import sys, re, subprocess, os
tr = sys.argv[1]
ph = None; blocks = []; addr = {}; ev = []; pending = None
for l in open(tr):
    p = l.split()
    if p[0] == 'M': ph = p[1]; continue
    if ph != 'infer': continue
    if p[0] == 'A' and p[8].endswith('bdf0') and int(p[3]) > 2**19:
        if int(p[1]) < 32 and False: pass
        blocks.append(p[2]); ev.append([round(int(p[3])/2**20, 2), 'new', p[2]])
    elif p[0] == 'F':
        for e in ev[::-1]:
            pass
        # a free right after an alloc = the block replaced
        if ev and ev[-1][1] == 'new' and p[2] != ev[-1][2]:
            old = [e for e in ev[:-1] if e[2] == p[2]]
            if old: ev[-1][1] = 'rep%.2f' % old[-1][0]
print("trace:", [(e[0], e[1]) for e in ev[4:]])
