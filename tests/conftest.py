from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import os  # noqa: E402
import tempfile  # noqa: E402

# ovmem's cache (host probe, lifted graphs, remote models) goes to a folder of this test run, never the
# user's ~/.cache: a run starts empty, and every test after the first lift of a model reads it back
os.environ["OVMEM_CACHE_DIR"] = tempfile.mkdtemp(prefix="ovmem-tests-cache-")
