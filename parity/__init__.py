"""parity: does your local Python environment match your project's container?"""

from __future__ import annotations

__version__ = "0.1.0"
