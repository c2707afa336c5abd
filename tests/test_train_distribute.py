"""train/distribute.py: multi-worker training on loopback (and a worker that stops), the mirrored strategy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import assert_one_line_error, ferplus_faces, run_cli

pytestmark = pytest.mark.slow



def free_ports(n: int) -> list[int]:
    """Free ports below the ephemeral range, so no outgoing connection can take one before its worker listens there.

    A worker binds its port only after importing TensorFlow (seconds); an ephemeral port found free
    by binding to port 0 can meanwhile become the source port of some connection on the machine.
    """
    import random
    import socket

    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    ports: list[int] = []
    for port in random.sample(range(min(20000, low - 1000), low), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == n:
            return ports
    raise RuntimeError("no free port below the ephemeral range")


def start_workers(data, out, epochs: int, *options: str) -> tuple[list, list[str]]:
    """Two `python -m train --strategy multiworker` processes on 127.0.0.1, each with its TF_CONFIG.

    PYTHONFAULTHANDLER lets `finish` show where a worker was when it had to be stopped.
    """
    import os
    import subprocess
    import sys

    from tests.helpers import ROOT

    hosts = [f"127.0.0.1:{p}" for p in free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}})
        cmd = [sys.executable, "-m", "train", str(data), "--out", str(out), "--epochs", str(epochs), "--strategy", "multiworker"]
        env = {**os.environ, "TF_CONFIG": tf_config, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONFAULTHANDLER": "1"}
        procs.append(
            subprocess.Popen(
                [*cmd, "--batch-size", "8", *options], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    return procs, hosts


def finish(procs, timeout: float) -> list[str]:
    """Every worker's output once all have ended; past `timeout` the test fails showing where each one was.

    A worker still running then gets SIGABRT, on which Python's fault handler prints every
    thread's stack; the rest are killed. No worker outlives its test, whatever happened.
    """
    import signal
    import subprocess
    import time

    started = time.monotonic()
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=max(1.0, timeout - (time.monotonic() - started)))[0])
    except subprocess.TimeoutExpired:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGABRT)
        time.sleep(3)
        outputs = []
        for p in procs:
            p.kill()
            outputs.append(p.communicate()[0] or "")
        shown = "\n".join(f"--- worker {i} (exit {p.returncode}):\n{out[-3000:]}" for i, (p, out) in enumerate(zip(procs, outputs)))
        pytest.fail(f"the workers were still running after {timeout:g} s\n{shown}")
    finally:
        stop_all(procs)
    return outputs


def stop_all(procs) -> None:
    """No worker outlives its test, whatever happened (a stopped one too: SIGKILL ends it)."""
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)


def test_multiworker_training_on_loopback(tmp_path):
    """Two worker processes on 127.0.0.1 (TF_CONFIG each), one short epoch; only the chief writes the model."""
    data = tmp_path / "data"
    ferplus_faces(data / "train", "train", 24)
    ferplus_faces(data / "val", "val", 8)
    out = tmp_path / "m"
    procs, _ = start_workers(data, out, epochs=1)
    outputs = finish(procs, timeout=240)  # about 30 s alone, 65-80 s with three busy processes on 2 cores
    assert [p.returncode for p in procs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    assert "the chief writes the model" in outputs[1]
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["training"]["strategy"] == {"name": "multiworker", "replicas": 2, "workers": 2, "per_replica_batch": 8, "global_batch": 16}
    assert meta["training"]["epochs_run"] == 1 and meta["training"]["seconds_per_epoch"] > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # the worker's own folder is gone


def wait_until_training(procs, hosts) -> None:
    """Until both TensorFlow servers listen (the cluster has formed) and a few seconds into training."""
    import socket
    import time

    deadline = time.time() + 120
    while time.time() < deadline:
        up = 0
        for host in hosts:
            name, port = host.rsplit(":", 1)
            try:
                socket.create_connection((name, int(port)), timeout=1).close()
                up += 1
            except OSError:
                pass
        if up == 2 or any(p.poll() is not None for p in procs):
            break
        time.sleep(0.5)
    time.sleep(5)
    if any(p.poll() is not None for p in procs):
        stop_all(procs)
        outputs = [p.communicate()[0] for p in procs]
        pytest.fail("a worker ended before training:\n" + "\n".join(out[-2000:] for out in outputs))


@pytest.mark.parametrize("how", ["SIGTERM", "SIGSTOP"])
def test_a_multiworker_run_ends_when_a_worker_is_stopped_or_stuck(tmp_path, how):
    """SIGTERM ends a worker at once and the other then ends with a one-line error instead of waiting for ever.

    SIGSTOP leaves a worker that still accepts connections on its address but no longer takes
    part: the other one ends within --peer-timeout (or sooner, when TensorFlow notices). The
    timeout leaves room for the start, where the workers' exchanges can be seconds apart.
    """
    import signal

    data = tmp_path / "data"
    ferplus_faces(data / "train", "train", 200)
    ferplus_faces(data / "val", "val", 8)
    procs, hosts = start_workers(data, tmp_path / "m", 50, "--peer-timeout", "20")
    try:
        wait_until_training(procs, hosts)
        procs[1].send_signal(getattr(signal, how))
        if how == "SIGTERM":
            procs[1].wait(timeout=15)  # it was ignored before: TensorFlow catches SIGTERM
        chief_out = finish(procs[:1], timeout=60)[0]  # it waited for ever before
    finally:
        stop_all(procs)
    assert procs[0].returncode == 1, chief_out[-2000:]
    assert how == "SIGSTOP" or procs[1].returncode == -signal.SIGTERM
    errors = [line for line in chief_out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and hosts[1] in errors[0] and "stopped answering" in errors[0], chief_out[-2000:]
    assert "Traceback" not in chief_out


def test_mirrored_strategy_and_a_missing_tf_config(tmp_path):
    data = ferplus_faces(tmp_path / "data", "val", 12)
    proc = run_cli(
        "train", str(data), "--out", str(tmp_path / "m"), "--epochs", "1", "--strategy", "mirrored", "--batch-size", "8", timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    strategy = json.loads((tmp_path / "m" / "metadata.json").read_text())["training"]["strategy"]
    assert strategy["name"] == "mirrored" and strategy["global_batch"] == 8 * strategy["replicas"]
    env = {"TF_CONFIG": ""}
    proc = run_cli("train", str(data), "--out", str(tmp_path / "m2"), "--strategy", "multiworker", env=env)
    assert_one_line_error(proc, "--strategy multiworker needs TF_CONFIG")
    assert not (tmp_path / "m2").exists()
