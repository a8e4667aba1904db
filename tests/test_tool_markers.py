"""Tests that need a Debian program are skipped, with the reason, where it is missing; under CI=true that fails."""

from __future__ import annotations

import os
import subprocess
import sys

from devtools.servers import ROOT

VOICE_TEST = "tests/test_web.py::test_chat_relays_and_swaps_voice_text_for_a_clip_url"  # needs("espeak-ng")


def run_without_programs(ci: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": "/nonexistent", "CI": ci, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", VOICE_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_missing_program_skips_with_the_reason():
    result = run_without_programs(ci="")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 skipped" in result.stdout
    assert "needs espeak-ng and opus-tools: not installed (make system-deps installs them)" in result.stdout


def test_under_ci_a_skip_for_a_missing_program_fails_the_run():
    result = run_without_programs(ci="true")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "CI=true, but tests were skipped for a missing program (CI installs them all): 1" in result.stdout
    assert VOICE_TEST in result.stdout
