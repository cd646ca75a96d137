"""A stand-in for ``eventfn worker`` in the local actuator's tests (no Celery, fast).

Run as ``python k8s_fake_worker.py worker NAME --functions ... ``; behaves as
``FAKE_WORKER_MODE`` says: ``idle`` (reports 0 in flight through the worker's own
in-flight gauge in ``PROMETHEUS_MULTIPROC_DIR``, exits 0 on SIGTERM),
``busy`` (reports 1 in flight), ``crash`` (exits 3 at once), ``stubborn`` (ignores
SIGTERM), ``slow`` (idle, but takes a second to start). Appends its argv to
``FAKE_WORKER_ARGS`` when set.
"""

import json
import os
import signal
import sys
import time

mode = os.environ.get("FAKE_WORKER_MODE", "idle")
if os.environ.get("FAKE_WORKER_ARGS"):
    with open(os.environ["FAKE_WORKER_ARGS"], "a") as out:
        out.write(json.dumps(sys.argv[1:]) + "\n")
if mode == "crash":
    sys.exit(3)
if mode == "slow":
    time.sleep(1.0)  # still starting: SIGTERM now would kill it before its handler
stopping = []


def stop(*_):
    stopping.append(True)


signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "stubborn" else stop)
# the report comes after the handler: a test that saw it may send SIGTERM
from worker_runtime.metrics import WorkerMetrics  # noqa: E402 - after the multiproc dir is known

WorkerMetrics().in_flight.labels(sys.argv[2]).set(1 if mode == "busy" else 0)
while not stopping:
    time.sleep(0.02)
sys.exit(0)
