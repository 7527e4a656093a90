"""``python -m parity``."""

from __future__ import annotations

import sys

from parity.cli import main

if __name__ == "__main__":
    sys.exit(main())
