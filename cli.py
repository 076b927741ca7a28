#!/usr/bin/env python3
"""Run ovmem from a checkout: ``python cli.py analyze MODEL --seq-len N``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ovmem.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
