"""Child of probe_kernels.py: runs HEAD's research/cpu-runtime/probe.py child (the measurement, with its
peak), then - after the measurement, outside the peak - lists which pages of every file-backed mapping
are resident in this process (/proc/self/pagemap, bit 63 'present'; readable unprivileged), so that the
code shared between kernel families can be told apart: a page is counted once however many families
touch it.  Prints one ``PAGES {...}`` line: {file basename: [[first_page, last_page_exclusive], ...]}
(page indices within the file)."""

import importlib.util
import json
import os
import sys


def resident_pages() -> dict:
    out = {}
    fd = os.open("/proc/self/pagemap", os.O_RDONLY)
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) < 6 or not parts[5].strip().startswith("/"):
                    continue
                path = parts[5].strip()
                if path.startswith("/proc") or path.endswith((".pyc",)):
                    continue
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                off = int(parts[2], 16) // 4096
                n = (hi - lo) // 4096
                raw = os.pread(fd, 8 * n, lo // 4096 * 8)
                pages = out.setdefault(os.path.basename(path), set())
                for i in range(len(raw) // 8):
                    if int.from_bytes(raw[8 * i:8 * i + 8], "little") >> 63:
                        pages.add(off + i)
    finally:
        os.close(fd)
    ranges = {}
    for name, pages in out.items():
        rs, prev = [], None
        for p in sorted(pages):
            if prev is not None and p == prev + 1:
                rs[-1][1] = p + 1
            else:
                rs.append([p, p + 1])
            prev = p
        if rs:
            ranges[name] = rs
    return ranges


if __name__ == "__main__":
    spec = importlib.util.spec_from_file_location("probe_head", sys.argv[1])
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    rc = probe.child_main(sys.argv[2])
    print("PAGES " + json.dumps(resident_pages()), flush=True)
    sys.exit(rc)
