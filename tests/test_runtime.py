"""The monitor's runtime path does not import TensorFlow (start-up in a moment, LiteRT only)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow


def test_monitor_runs_without_importing_tensorflow(tmp_path, videos_dir):
    code = (
        "import sys\nfrom monitor.__main__ import main\n"
        f"rc = main(['--source', {str(videos_dir / 'single_face.mp4')!r}, '--no-display', '--max-frames', '5', '--quiet', "
        f"'--log', {str(tmp_path / 'l.csv')!r}])\n"
        "print(rc, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["0", "False", "False"], proc.stdout + proc.stderr[-1500:]
