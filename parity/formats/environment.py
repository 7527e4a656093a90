"""One environment's facts, for ``parity probe``: a table, or the snapshot JSON."""

from __future__ import annotations

import json

from parity.model import Environment
from parity.snapshot import environment_to_dict


def render_environment(environment: Environment, format_name: str) -> str:
    if format_name == "json":
        return json.dumps(environment_to_dict(environment), indent=2, ensure_ascii=False) + "\n"
    return _table(environment)


def _table(environment: Environment) -> str:
    lines = [f"{environment.kind}:{environment.ref}"]
    if environment.description:
        lines.append(f"  {environment.description}")
    interpreter = environment.interpreter
    if interpreter is not None:
        facts = [
            ("python", f"{interpreter.implementation} {interpreter.version}"),
            ("executable", interpreter.executable),
            ("venv", "yes" if interpreter.is_venv else "no"),
            ("architecture", interpreter.machine),
            ("os", interpreter.os),
            ("libc", interpreter.libc),
            ("pip", interpreter.pip_version or "not installed"),
        ]
        width = max(len(name) for name, _ in facts)
        lines += [f"  {name.ljust(width)}  {value}" for name, value in facts]
    if environment.python_requirement:
        lines.append(f"  requires python {environment.python_requirement}")
    if environment.packages:
        lines.append(f"packages ({len(environment.packages)})")
        for package in sorted(environment.packages, key=lambda item: item.key):
            note = f"  ({package.origin.describe()})" if package.origin else ""
            marker = f"  ; {package.marker}" if package.marker else ""
            lines.append(f"  {package.name}=={package.version}{note}{marker}")
    if environment.requirements:
        lines.append(f"requirements ({len(environment.requirements)})")
        for requirement in environment.requirements:
            marker = f" ; {requirement.marker}" if requirement.marker else ""
            kind = " (constraint)" if requirement.is_constraint else ""
            lines.append(f"  {requirement.name} {requirement.describe()}{marker}{kind}")
    for warning in environment.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"
