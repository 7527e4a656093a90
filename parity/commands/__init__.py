"""The subcommands, one module each: check (and diff), probe (and snapshot), doctor."""

from __future__ import annotations

import argparse
import os
import sys

from parity.commands.check import run_check, run_diff
from parity.commands.probe import run_probe, run_snapshot

__all__ = ["run_check", "run_diff", "run_doctor", "run_probe", "run_snapshot"]


def run_doctor(args: argparse.Namespace) -> int:
    """``parity doctor``: everything between a newcomer and a check."""
    from parity.commands.doctor import run_doctor as diagnose

    return diagnose(args.project_dir, os.environ, sys.stdout)
