"""Training on more than one device or machine with tf.distribute, or on the default single device.

`mirrored` copies the model onto every local GPU (or the CPU when there is none) and splits
each batch between them; `multiworker` does the same across machines, each started with the
same command and its own TF_CONFIG (the cluster's addresses and this machine's place in it),
as `tf.distribute.MultiWorkerMirroredStrategy` expects. `--batch-size` is per replica: the
global batch grows with the replicas, so each device's share of the work stays the same.
Only the chief (worker 0, or the task named "chief") writes the model.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass, field

from monitor.core.errors import UserError

STRATEGIES = ("default", "mirrored", "multiworker")
PEER_TIMEOUT_S = 600.0  # default longest wait in one collective operation (multi-worker runs)


@dataclass
class Distribution:
    """The strategy in use and what it means for batches and outputs."""

    name: str
    strategy: object | None  # a tf.distribute.Strategy, None for the default single device
    replicas: int = 1
    workers: int = 1
    chief: bool = True
    peers_watch: threading.Event = field(default_factory=threading.Event)  # set to stop watching the other workers
    peers: list[str] = field(default_factory=list)  # the other workers' addresses (multi-worker runs)
    peer_timeout: float = PEER_TIMEOUT_S

    def lost_peer(self, err: Exception) -> None:
        """End this worker with one line when TensorFlow itself notices a gone or stuck peer first (a failed collective)."""
        why = type(err).__name__
        if why == "DeadlineExceededError":  # the collective's own timeout: the peer is there but took no part
            why = f"no exchange within --peer-timeout {self.peer_timeout:g} s"
        stop_for_lost_peer(self.peers, why)

    def scope(self):
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def describe(self, per_replica_batch: int) -> dict:
        """What the metadata records."""
        return {
            "name": self.name,
            "replicas": self.replicas,
            "workers": self.workers,
            "per_replica_batch": per_replica_batch,
            "global_batch": per_replica_batch * self.replicas,
        }


def cluster_spec() -> tuple[int, bool, list[str]]:
    """(workers, this task is the chief, the other tasks' addresses) from TF_CONFIG; UserError when it is missing or malformed."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UserError(
            "--strategy multiworker needs TF_CONFIG on every machine, e.g. "
            '\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\' (see the README)'
        )
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        workers = sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))
        chief = task["type"] == "chief" or ("chief" not in cluster and task["type"] == "worker" and int(task["index"]) == 0)
        me = cluster[task["type"]][int(task["index"])]
        peers = [addr for kind in ("chief", "worker") for addr in cluster.get(kind, []) if addr != me]
    except (ValueError, KeyError, TypeError, IndexError) as err:
        raise UserError(f"TF_CONFIG: not a valid cluster description ({type(err).__name__}: {err}); see the README") from None
    if workers < 1:
        raise UserError("TF_CONFIG: the cluster lists no worker")
    return workers, chief, peers


def make(name: str, peer_timeout: float = PEER_TIMEOUT_S) -> Distribution:
    """The distribution for --strategy `name` (imports TensorFlow only when a strategy is asked for).

    `peer_timeout` bounds each exchange between workers: a peer that still answers on its address
    but no longer takes part (stopped, stuck, its machine frozen) ends this worker with one line
    instead of leaving it waiting for ever.
    """
    if name == "default":
        return Distribution("default", None)
    import tensorflow as tf

    if name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
        return Distribution(name, strategy, strategy.num_replicas_in_sync)
    workers, chief, peers = cluster_spec()
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=peer_timeout)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)  # returns once every worker has joined
    # TensorFlow's coordination service catches SIGTERM (to note a preemption) and a worker blocked in a collective
    # never returns to Python to see Ctrl-C: give both back their default action, so either ends the process at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _build_from_local_batch()
    dist = Distribution(name, strategy, strategy.num_replicas_in_sync, workers, chief, peers=peers, peer_timeout=peer_timeout)
    watch_peers(peers, dist.peers_watch)
    return dist


def stop_for_lost_peer(peers: list[str], why: str = "") -> None:
    """One `error:` line naming the worker(s) gone, then exit 1 at once (TensorFlow's shutdown would wait for them)."""
    who = peers[0] if len(peers) == 1 else "one of " + ", ".join(peers)
    print(
        f"error: worker {who} of this multi-worker run stopped answering{f' ({why})' if why else ''}; "
        "stopping too (restart every worker together)",
        file=sys.stderr,
        flush=True,
    )
    os._exit(1)


PEER_CHECK_S = 2.0  # how often the other workers are checked
PEER_MISSES = 3  # failed checks in a row before a worker is taken as gone


def watch_peers(peers: list[str], stop: threading.Event, every: float = PEER_CHECK_S, misses: int = PEER_MISSES) -> threading.Thread:
    """End this process with a one-line error when another worker's address stops answering (it died or was killed).

    Without this, a worker whose peer has gone waits in a collective operation for ever. Each
    worker's TensorFlow server listens on its TF_CONFIG address for the whole run, so a refused
    connection means the process is gone. Checking stops once `stop` is set (training is over).
    """

    def run() -> None:
        down = dict.fromkeys(peers, 0)
        while not stop.wait(every):
            for peer in peers:
                host, port = peer.rsplit(":", 1)
                try:
                    with socket.create_connection((host, int(port)), timeout=every):
                        down[peer] = 0
                except OSError:
                    down[peer] += 1
                if down[peer] >= misses and not stop.is_set():
                    stop_for_lost_peer([peer])

    thread = threading.Thread(target=run, name="watch-peers", daemon=True)
    thread.start()
    return thread


def _build_from_local_batch() -> None:
    """Work around two failures of Keras 3's fit() under MultiWorkerMirroredStrategy (Keras 3.15, TF 2.21).

    1. Before training, Keras builds the model symbolically from one batch, which it first
       averages across replicas with `strategy.reduce`; across workers that reduce fails
       ("Attempt to convert a value (PerReplica ...)"), even for a two-layer model. Only the
       batch's shapes matter there, so this worker's own share is used instead.
    2. After each step it averages the step's logs across workers along axis 0, which fails
       for scalars ("Invalid reduction dimension 0 for input with 0 dimensions"). The logs are
       metric results, already synchronised across replicas, so the local value is the value.
    Both patches touch only multi-worker runs; tests/test_train_cli.py trains two workers.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer, "_multiworker_patched", False):
        return
    original_build, original_reduce = trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica

    def local(value, strategy):
        return strategy.experimental_local_results(value)[0] if isinstance(value, tf.distribute.DistributedValues) else value

    def build(self, iterator=None, data_batch=None):
        if iterator is None or data_batch is not None or self._distribute_strategy is None:
            return original_build(self, iterator, data_batch)
        for _, _, it in iterator:
            batch = tf.nest.map_structure(lambda v: local(v, self.distribute_strategy), next(it))
            break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=batch)

    def reduce(values, strategy, reduction):
        if reduction == "auto" and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return tf.nest.map_structure(lambda v: local(v, strategy), values)
        return original_reduce(values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = build
    trainer.reduce_per_replica = reduce
    trainer._multiworker_patched = True


def shard_by_data(dataset):
    """Let every worker read the whole (shuffled) file list and keep its share of each batch.

    The pipeline starts from an in-memory list of files, which tf.data cannot shard by file.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
