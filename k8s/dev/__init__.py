"""``eventfn dev``: the whole pipeline on one machine, and what it leaves for ``eventfn status``.

Public API::

    from k8s.dev import DevOptions, DevServer
    DevServer(DevOptions("functions", host="127.0.0.1", port=8080), settings=settings,
              registry=registry, broker_url=url, console=Console()).run()   # blocks; 0

Modules: :mod:`~k8s.dev.command` (the ``eventfn dev`` click command),
:mod:`~k8s.dev.server` (the run: processes, autoscaler, reload, stop),
:mod:`~k8s.dev.autoscaling` (the autoscaler with local worker processes, also run by
``eventfn autoscale --actuator local``), :mod:`~k8s.dev.workers` (that autoscaler in a
thread, restarted on reload), :mod:`~k8s.dev.ports` (the ingress's port and URL),
:mod:`~k8s.dev.reload` (watching and reloading the functions),
:mod:`~k8s.dev.output` (live view, plain status lines, process logs),
:mod:`~k8s.dev.banner` (the start-up banner), :mod:`~k8s.dev.state` (the state
directory's ``dev/`` files read by ``eventfn status``, orphans of a killed dev) and
:mod:`k8s.dev.view` (the snapshot shown live and by ``eventfn status``). The child
processes are :class:`worker_runtime.supervisor.ChildProcess`, the one supervisor.
"""

from k8s.dev.banner import BannerInfo, banner, curl_example
from k8s.dev.server import DevOptions, DevServer, broker_kind
from k8s.dev.state import DevFunction, DevState, counters_dir, read_state

__all__ = [
    "BannerInfo",
    "DevFunction",
    "DevOptions",
    "DevServer",
    "DevState",
    "banner",
    "broker_kind",
    "counters_dir",
    "curl_example",
    "read_state",
]
