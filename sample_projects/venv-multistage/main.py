"""Print the version of every package the app depends on."""

from __future__ import annotations

from importlib.metadata import version

for name in ("attrs", "packaging", "six"):
    print(name, version(name))
