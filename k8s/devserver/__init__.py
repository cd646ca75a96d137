"""``eventfn dev``: the whole pipeline on one machine, and what it leaves for ``eventfn status``.

Public API::

    from k8s.devserver import DevOptions, DevServer
    DevServer(DevOptions("functions", host="127.0.0.1", port=8080), settings=settings,
              registry=registry, broker_url=url, console=Console()).run()   # blocks; 0

Modules: :mod:`~k8s.devserver.server` (the run: processes, autoscaler, reload, stop),
:mod:`~k8s.devserver.processes` (supervised ingress and bridge subprocesses, orphans),
:mod:`~k8s.devserver.workers` (the autoscaled workers in a thread),
:mod:`~k8s.devserver.ports` (the ingress's port and URL),
:mod:`~k8s.devserver.reload` (watching and reloading the functions),
:mod:`~k8s.devserver.output` (live view, plain status lines, process logs),
:mod:`~k8s.devserver.banner` (the start-up banner), :mod:`~k8s.devserver.state`
(the state directory's ``dev/`` files read by ``eventfn status``).
"""

from k8s.devserver.banner import BannerInfo, banner, curl_example
from k8s.devserver.server import DevOptions, DevServer, broker_kind
from k8s.devserver.state import DevFunction, DevState, counters_dir, read_state

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
