"""Pod networking for the proving ground: one Linux bridge on the host and, per pod, a
network namespace joined to it by a veth pair, each with its own IPv4 address.

Everything is created by the test and named ``efc-*``; :meth:`Network.close` deletes it.
The subnet is a free ``10.X.Y.0/24`` picked at start, so parallel runs never collide.
Traffic only flows between loopback, the bridge's host address and the pods' addresses:
there is no NAT and no route to anything else.
"""

from __future__ import annotations

import ipaddress
import os
import random
import subprocess
import threading
import uuid
from dataclasses import dataclass, field


class NetworkError(RuntimeError):
    pass


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], check=False, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def _used_networks() -> list[ipaddress.IPv4Network]:
    out = _ip("-o", "-4", "addr", "show").stdout
    nets = []
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            nets.append(ipaddress.ip_interface(parts[parts.index("inet") + 1]).network)
    return nets


@dataclass
class PodNetwork:
    namespace: str  # the netns name
    address: str
    host_link: str


@dataclass
class Network:
    """The bridge ``efc-<id>`` with host address ``gateway``; pods from :meth:`add`."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:5])
    pods: dict[str, PodNetwork] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bridge = f"efc-{self.id}"
        used = _used_networks()
        rng = random.Random(os.getpid())
        for _ in range(200):
            net = ipaddress.ip_network(f"10.{rng.randint(160, 250)}.{rng.randint(0, 255)}.0/24")
            if not any(net.overlaps(u) for u in used):
                break
        else:
            raise NetworkError("no free 10.x.y.0/24 for the pod network")
        self.subnet = net
        self.gateway = str(net.network_address + 1)
        self._next = 2
        self._lock = threading.Lock()
        _ip("link", "add", self.bridge, "type", "bridge")
        try:
            _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
        except NetworkError:
            self.close()
            raise

    def add(self) -> PodNetwork:
        """A new network namespace with its own address on the bridge."""
        with self._lock:
            number = self._next
            self._next += 1
        if number > 254:
            raise NetworkError("the pod network is full")
        address = str(self.subnet.network_address + number)
        netns = f"efc-{self.id}-{number}"
        host_link = f"efc{self.id}h{number}"
        _ip("netns", "add", netns)
        pod = PodNetwork(netns, address, host_link)
        self.pods[netns] = pod
        _ip("link", "add", host_link, "type", "veth", "peer", "name", "eth0", "netns", netns)
        _ip("link", "set", host_link, "master", self.bridge, "up")
        _ip("-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("-n", netns, "link", "set", "eth0", "up")
        _ip("-n", netns, "link", "set", "lo", "up")
        _ip("-n", netns, "route", "add", "default", "via", self.gateway)
        return pod

    def remove(self, pod: PodNetwork) -> None:
        _ip("link", "del", pod.host_link, check=False)
        _ip("netns", "del", pod.namespace, check=False)
        self.pods.pop(pod.namespace, None)

    def close(self) -> None:
        for pod in list(self.pods.values()):
            self.remove(pod)
        _ip("link", "del", self.bridge, check=False)


def available() -> tuple[bool, str]:
    if os.geteuid() != 0:
        return False, "pod network namespaces need root"
    probe = f"efc-probe-{uuid.uuid4().hex[:4]}"
    done = _ip("netns", "add", probe, check=False)
    if done.returncode != 0:
        return False, f"ip netns does not work here: {done.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return True, ""
