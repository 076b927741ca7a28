"""``python -m ovmem``."""

import sys

from ovmem.cli import main

sys.exit(main())
