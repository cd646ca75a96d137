"""The kubelet of the proving ground: it runs each Pod bound to its node as a real
process in the pod's own network namespace, and reports back through the API.

Per container it does what the kubelet does, as far as eventfn's manifests use it:

* pulls the image from the test's :class:`~images.Registry` (unknown: ``ErrImagePull``);
* builds the environment (:mod:`podenv`; a missing Secret key is
  ``CreateContainerConfigError``, retried), expands ``$(VAR)`` in command and args;
* mounts, in the pod's own mount namespace: the service account token, CA and namespace
  at ``/var/run/secrets/kubernetes.io/serviceaccount``, an ``/etc/hosts`` with the
  pod's name and the test's host aliases, ``emptyDir``/``secret``/``configMap``
  volumes; a read-only ``/`` when ``readOnlyRootFilesystem``; sets the hostname (own
  UTS namespace) and runs as the pod's ``runAsUser``/``runAsGroup`` (else the image's);
* runs startup, liveness and readiness probes as declared (httpGet on a named or
  numbered port, tcpSocket, exec; initialDelay, period, timeout, success and failure
  thresholds). A failed liveness probe restarts the container: SIGTERM, then SIGKILL
  after ``terminationGracePeriodSeconds``. A container that exits is restarted
  (``restartPolicy: Always``) with the kubelet's back-off; ``restartCount`` counts;
* deletes gracefully: a Pod with a ``deletionTimestamp`` gets SIGTERM, SIGKILL after
  its grace period, and is then removed from the API (``gracePeriodSeconds=0``);
* writes ``status``: phase, podIP, conditions (Ready, ContainersReady), containerStatuses.

What it does not do: no cgroups (resource limits are not enforced), no image layers
(the root filesystem is the host's, read-only), one node.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client

from .images import Image, Registry
from .network import Network, PodNetwork
from .podenv import ContainerConfigError, container_env, expand

NODE = "efc-node"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def backoff(restarts: int) -> float:
    """The kubelet's CrashLoopBackOff: the first restart at once, then 10 s doubling to 5 min."""
    return 0.0 if restarts <= 1 else min(300.0, 10.0 * 2 ** (restarts - 2))


@dataclass
class ContainerState:
    name: str
    restart_count: int = 0
    ready: bool = False
    started: bool = False
    state: dict[str, Any] = field(
        default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}}
    )
    last_state: dict[str, Any] = field(default_factory=dict)

    def status(self, image: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "image": image,
            "imageID": image,
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": self.state,
            "lastState": self.last_state,
        }


class Probe:
    """One declared probe, run on its own thread while its container runs."""

    def __init__(
        self, kind: str, spec: dict[str, Any], pod: PodRuntime, container: dict[str, Any]
    ) -> None:
        self.kind, self.spec, self.pod, self.container = kind, spec, pod, container
        self.ok = False
        self.failures = 0
        self.successes = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"efc-probe-{kind}")

    def _port(self, port: Any) -> int:
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        for declared in self.container.get("ports") or []:
            if declared.get("name") == port:
                return int(declared["containerPort"])
        raise ValueError(f"no container port named {port!r}")

    def attempt(self) -> bool:
        timeout = float(self.spec.get("timeoutSeconds", 1))
        host = self.pod.net.address
        try:
            if "httpGet" in self.spec:
                get = self.spec["httpGet"]
                connection = http.client.HTTPConnection(
                    get.get("host") or host, self._port(get["port"]), timeout=timeout
                )
                try:
                    headers = {h["name"]: h["value"] for h in get.get("httpHeaders") or []}
                    connection.request(
                        "GET",
                        get.get("path", "/"),
                        headers={"User-Agent": "kube-probe/1.32", **headers},
                    )
                    return 200 <= connection.getresponse().status < 400
                finally:
                    connection.close()
            if "tcpSocket" in self.spec:
                port = self._port(self.spec["tcpSocket"]["port"])
                with socket.create_connection((host, port), timeout=timeout):
                    return True
            if "exec" in self.spec:
                command = [
                    "ip",
                    "netns",
                    "exec",
                    self.pod.net.namespace,
                    *self.spec["exec"]["command"],
                ]
                return (
                    subprocess.run(
                        command, check=False, capture_output=True, timeout=timeout
                    ).returncode
                    == 0
                )
        except (OSError, ValueError, subprocess.TimeoutExpired, http.client.HTTPException):
            return False
        return False

    def _run(self) -> None:
        if self.stop.wait(float(self.spec.get("initialDelaySeconds", 0))):
            return
        period = float(self.spec.get("periodSeconds", 10))
        while not self.stop.is_set():
            started = time.monotonic()
            if self.kind != "startup" and not self.pod.startup_done(self.container["name"]):
                self.stop.wait(0.2)
                continue
            passed = self.attempt()
            if self.stop.is_set():
                return
            self.pod.record_probe(self, passed)
            if passed:
                self.successes += 1
                self.failures = 0
                if self.successes >= int(self.spec.get("successThreshold", 1)):
                    self.ok = True
            else:
                self.failures += 1
                self.successes = 0
                if self.failures >= int(self.spec.get("failureThreshold", 3)):
                    if self.ok or self.kind != "readiness":
                        self.pod.probe_failed(self)
                    self.ok = False
            if self.kind == "startup" and self.ok:
                return
            self.stop.wait(max(0.0, period - (time.monotonic() - started)))


class PodRuntime:
    """One pod: its netns, its container process(es), probes and status."""

    def __init__(self, kubelet: Kubelet, pod: dict[str, Any]) -> None:
        self.kubelet = kubelet
        self.pod = pod
        self.uid = pod["metadata"]["uid"]
        self.name = pod["metadata"]["name"]
        self.namespace = pod["metadata"]["namespace"]
        self.dir = kubelet.root / f"{self.namespace}_{self.name}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.net: PodNetwork = kubelet.network.add()
        self.containers = {c["name"]: ContainerState(c["name"]) for c in pod["spec"]["containers"]}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.probes: dict[str, list[Probe]] = {}
        self.restart_requested: dict[str, str] = {}
        self.stopping = threading.Event()
        self.lock = threading.RLock()
        self.threads = [
            threading.Thread(
                target=self._run_container, args=(c,), daemon=True, name=f"efc-pod-{self.name}"
            )
            for c in pod["spec"]["containers"]
        ]
        self.start_time = now()
        self.probe_log: list[tuple[float, str, str, bool]] = []
        self.events: list[tuple[float, str, str]] = []

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def terminate(self, grace: float) -> None:
        """Stop every container: SIGTERM, SIGKILL after ``grace`` seconds."""
        self.stopping.set()
        with self.lock:
            processes = list(self.processes.items())
        for name, process in processes:
            self._kill(name, process, grace)
        for thread in self.threads:
            thread.join(timeout=grace + 5)
        self.kubelet.network.remove(self.net)

    def _kill(self, name: str, process: subprocess.Popen[bytes], grace: float) -> None:
        self._event("Killing", f"Stopping container {name}")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # what the container left behind
            os.killpg(process.pid, signal.SIGKILL)

    def sigkill(self, container: str | None = None) -> None:
        """A crash, as a test injects it: SIGKILL the container's processes now."""
        with self.lock:
            process = self.processes[container or next(iter(self.processes))]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    # -- probes -------------------------------------------------------------------------
    def startup_done(self, container: str) -> bool:
        return all(p.ok for p in self.probes.get(container, []) if p.kind == "startup")

    def record_probe(self, probe: Probe, passed: bool) -> None:
        self.probe_log.append((time.monotonic(), probe.container["name"], probe.kind, passed))
        if probe.kind == "readiness":
            self._set_ready(probe.container["name"])

    def probe_failed(self, probe: Probe) -> None:
        name = probe.container["name"]
        if probe.kind == "readiness":
            self._set_ready(name)
            return
        self._event(
            "Unhealthy", f"{probe.kind.capitalize()} probe failed; the container will be restarted"
        )
        self.restart_requested[name] = f"{probe.kind} probe failed"
        with self.lock:
            process = self.processes.get(name)
        if process is not None:
            grace = float(self.pod["spec"].get("terminationGracePeriodSeconds", 30))
            threading.Thread(target=self._kill, args=(name, process, grace), daemon=True).start()

    def _set_ready(self, name: str) -> None:
        state = self.containers[name]
        readiness = [p for p in self.probes.get(name, []) if p.kind == "readiness"]
        ready = state.started and all(p.ok for p in readiness)
        if ready != state.ready:
            state.ready = ready
            self.kubelet.report(self)

    # -- one container ------------------------------------------------------------------
    def _run_container(self, container: dict[str, Any]) -> None:
        name = container["name"]
        state = self.containers[name]
        while not self.stopping.is_set():
            image = self.kubelet.registry.pull(container["image"])
            if image is None:
                state.state = {
                    "waiting": {
                        "reason": "ErrImagePull",
                        "message": f"image {container['image']!r} not in the test registry",
                    }
                }
                self.kubelet.report(self)
                self.stopping.wait(2)
                continue
            try:
                argv, env = self._command(container, image)
            except ContainerConfigError as error:
                state.state = {
                    "waiting": {"reason": "CreateContainerConfigError", "message": str(error)}
                }
                self.kubelet.report(self)
                self.stopping.wait(1)
                continue
            log = (self.dir / f"{name}.log").open("ab")
            log.write(f"--- {now()} start #{state.restart_count}: {shlex.join(argv)}\n".encode())
            log.flush()
            script = self._wrapper(container, image, env)
            process = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    self.net.namespace,
                    "unshare",
                    "--uts",
                    "--",
                    "/bin/sh",
                    str(script),
                    *argv,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            log.close()
            with self.lock:
                self.processes[name] = process
            started_at = now()
            state.state = {"running": {"startedAt": started_at}}
            state.started = True
            self._event("Started", f"Started container {name}")
            probes = [
                Probe(kind, container[key], self, container)
                for kind, key in (
                    ("startup", "startupProbe"),
                    ("liveness", "livenessProbe"),
                    ("readiness", "readinessProbe"),
                )
                if key in container
            ]
            self.probes[name] = probes
            for probe in probes:
                probe.thread.start()
            self._set_ready(name)
            self.kubelet.report(self)
            code = process.wait()
            for probe in probes:
                probe.stop.set()
            state.ready = False
            state.started = False
            reason = self.restart_requested.pop(name, None)
            terminated = {
                "exitCode": code if code >= 0 else 128 - code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": started_at,
                "finishedAt": now(),
            }
            if code < 0:
                terminated["signal"] = -code
            if reason:
                terminated["message"] = reason
            state.last_state = {"terminated": terminated}
            if self.stopping.is_set():
                state.state = {"terminated": terminated}
                break
            state.restart_count += 1
            delay = backoff(state.restart_count)
            state.state = {
                "waiting": {"reason": "CrashLoopBackOff" if delay else "ContainerCreating"}
            }
            self.kubelet.report(self)
            self.stopping.wait(delay)
        with self.lock:
            self.processes.pop(name, None)

    def _command(self, container: dict[str, Any], image: Image) -> tuple[list[str], dict[str, str]]:
        pod = self.kubelet.current(self) or self.pod
        env = image.environment()
        env.update(
            container_env(
                pod,
                container,
                self.kubelet.lookup(self.namespace),
                self.kubelet.services(self.namespace),
                self.kubelet.kubernetes_env,
            )
        )
        env["HOSTNAME"] = self.name
        command = container.get("command") or list(image.entrypoint)
        args = (
            container.get("args")
            if container.get("command") or container.get("args") is not None
            else list(image.cmd)
        )
        if container.get("command") and container.get("args") is None:
            args = []
        argv = [expand(str(a), env) for a in [*command, *(args or [])]]
        resolved = shutil.which(argv[0], path=env.get("PATH"))
        if resolved is None:
            raise ContainerConfigError(f'exec: "{argv[0]}": executable file not found in $PATH')
        return [resolved, *argv[1:]], env

    def _wrapper(self, container: dict[str, Any], image: Image, env: dict[str, str]) -> Path:
        """The shell script that sets up the pod's mount namespace and execs the container."""
        spec = self.pod["spec"]
        lines = ["set -e", "mount --make-rprivate /", "hostname " + shlex.quote(self.name)]
        hosts = self.dir / "hosts"
        aliases = "\n".join(
            f"{ip}\t{' '.join(names)}" for ip, names in self.kubelet.host_aliases.items()
        )
        hosts.write_text(f"127.0.0.1\tlocalhost\n{self.net.address}\t{self.name}\n{aliases}\n")
        lines.append(f"mount --bind {shlex.quote(str(hosts))} /etc/hosts")
        # the image's files under folders others cannot enter (/root on these machines)
        stage = "/run/efc-stage"
        lines += ["mount -t tmpfs -o mode=755 efc-run /run", f"mkdir -p {stage}"]
        masks: dict[str, list[str]] = {}
        for path in image.files():
            blocked = _blocked_ancestor(path)
            if blocked:
                masks.setdefault(blocked, []).append(path)
        count = 0
        for blocked, paths in sorted(masks.items()):
            staged = []
            for path in paths:
                count += 1
                lines += [
                    f"mkdir -p {stage}/{count}",
                    f"mount --bind {shlex.quote(path)} {stage}/{count}",
                ]
                staged.append((path, count))
            lines.append(f"mount -t tmpfs -o mode=755 efc-mask {shlex.quote(blocked)}")
            for path, number in staged:
                lines += [
                    f"mkdir -p {shlex.quote(path)}",
                    f"mount --bind {stage}/{number} {shlex.quote(path)}",
                ]
        if spec.get("automountServiceAccountToken", True):
            account = self.dir / "serviceaccount"
            account.mkdir(exist_ok=True)
            (account / "token").write_text(f"efc-token-{spec.get('serviceAccountName', 'default')}")
            (account / "namespace").write_text(self.namespace)
            if self.kubelet.ca_file:
                shutil.copy(self.kubelet.ca_file, account / "ca.crt")
            for entry in account.iterdir():
                entry.chmod(0o644)
            lines += [
                f"mkdir -p {SA_DIR}",
                f"mount --bind -o ro {shlex.quote(str(account))} {SA_DIR}",
            ]
        security = {
            **(spec.get("securityContext") or {}),
            **(container.get("securityContext") or {}),
        }
        user = int(security.get("runAsUser", image.user))
        group = int(security.get("runAsGroup", image.group))
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"], {})
            target = shlex.quote(mount["mountPath"])
            if "emptyDir" in volume:
                lines.append(f"mount -t tmpfs -o mode=1777 efc-empty {target}")
            elif "secret" in volume or "configMap" in volume:
                source = self._volume_files(volume)
                lines += [
                    f"mkdir -p {target}",
                    f"mount --bind -o ro {shlex.quote(str(source))} {target}",
                ]
        if security.get("readOnlyRootFilesystem"):
            lines.append("mount -o remount,bind,ro /")
        workdir = container.get("workingDir") or image.workdir
        lines.append(f"cd {shlex.quote(workdir)}")
        lines.append(
            f'exec setpriv --reuid={user} --regid={group} --clear-groups --no-new-privs "$@"'
        )
        script = self.dir / f"{container['name']}.sh"
        script.write_text("\n".join(lines) + "\n")
        return script

    def _volume_files(self, volume: dict[str, Any]) -> Path:
        folder = self.dir / "volumes" / volume["name"]
        folder.mkdir(parents=True, exist_ok=True)
        lookup = self.kubelet.lookup(self.namespace)
        if "secret" in volume:
            found = lookup("secrets", volume["secret"]["secretName"]) or {}
            for key, value in (found.get("data") or {}).items():
                (folder / key).write_bytes(base64.b64decode(value))
        else:
            found = lookup("configmaps", volume["configMap"]["name"]) or {}
            for key, value in (found.get("data") or {}).items():
                (folder / key).write_text(value)
        for entry in folder.iterdir():
            entry.chmod(0o644)
        return folder

    def _event(self, reason: str, message: str) -> None:
        self.events.append((time.monotonic(), reason, message))

    # -- status -------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        statuses = [
            state.status(
                next(c["image"] for c in self.pod["spec"]["containers"] if c["name"] == name)
            )
            for name, state in self.containers.items()
        ]
        ready = all(s.ready for s in self.containers.values())
        running = any("running" in s.state for s in self.containers.values())
        stamp = now()

        def condition(kind: str, value: bool) -> dict[str, Any]:
            return {
                "type": kind,
                "status": "True" if value else "False",
                "lastTransitionTime": stamp,
            }

        return {
            "phase": "Running" if running else "Pending",
            "hostIP": self.kubelet.network.gateway,
            "podIP": self.net.address,
            "podIPs": [{"ip": self.net.address}],
            "startTime": self.start_time,
            "conditions": [
                condition("PodScheduled", True),
                condition("Initialized", True),
                condition("ContainersReady", ready),
                condition("Ready", ready),
            ],
            "containerStatuses": statuses,
        }


def _blocked_ancestor(path: str) -> str | None:
    """The top-most folder on ``path`` that others may not enter, if any."""
    current = Path("/")
    for part in Path(path).parts[1:]:
        current = current / part
        try:
            mode = current.stat().st_mode
        except OSError:
            return None
        if current.is_dir() and mode & 0o001 == 0:
            return str(current)
    return None


class Kubelet:
    """Runs every Pod bound to :data:`NODE` (the controllers bind them; no scheduler)."""

    def __init__(
        self,
        api: client.ApiClient,
        network: Network,
        registry: Registry,
        root: Path,
        kubernetes_env: dict[str, str],
        ca_file: str | None,
        host_aliases: dict[str, list[str]],
    ) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.network = network
        self.registry = registry
        self.root = root
        self.kubernetes_env = kubernetes_env
        self.ca_file = ca_file
        self.host_aliases = host_aliases
        self.pods: dict[str, PodRuntime] = {}
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.reported: dict[str, str] = {}
        self.thread = threading.Thread(target=self._loop, daemon=True, name="efc-kubelet")
        self.errors: list[str] = []

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)
        runtimes = list(self.pods.values())
        threads = [threading.Thread(target=r.terminate, args=(5,)) for r in runtimes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    # -- reads for pods -----------------------------------------------------------------
    def _get(self, path: str) -> dict[str, Any] | None:
        try:
            response = self.api.call_api(
                path, "GET", auth_settings=[], _preload_content=False, _return_http_data_only=True
            )
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise
        return json.loads(response.data)

    def lookup(self, namespace: str) -> Any:
        def find(plural: str, name: str) -> dict[str, Any] | None:
            return self._get(f"/api/v1/namespaces/{namespace}/{plural}/{name}")

        return find

    def services(self, namespace: str) -> list[dict[str, Any]]:
        found = self._get(f"/api/v1/namespaces/{namespace}/services") or {}
        return found.get("items") or []

    def current(self, runtime: PodRuntime) -> dict[str, Any] | None:
        return self._get(f"/api/v1/namespaces/{runtime.namespace}/pods/{runtime.name}")

    def runtime(self, name: str) -> PodRuntime:
        for runtime in list(self.pods.values()):
            if runtime.name == name:
                return runtime
        raise KeyError(name)

    # -- the sync loop ------------------------------------------------------------------
    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self._sync()
            except Exception as error:
                self.errors.append(repr(error))
            self.stopping.wait(0.2)

    def _sync(self) -> None:
        listing = self._get(f"/api/v1/pods?fieldSelector=spec.nodeName%3D{NODE}") or {}
        seen = set()
        for pod in listing.get("items") or []:
            uid = pod["metadata"]["uid"]
            seen.add(uid)
            runtime = self.pods.get(uid)
            if pod["metadata"].get("deletionTimestamp"):
                if runtime is not None and not getattr(runtime, "deleting", False):
                    runtime.deleting = True  # type: ignore[attr-defined]
                    grace = float(pod["metadata"].get("deletionGracePeriodSeconds", 30))
                    threading.Thread(
                        target=self._finish, args=(runtime, grace), daemon=True
                    ).start()
                elif runtime is None:
                    self._remove(pod["metadata"]["namespace"], pod["metadata"]["name"], uid)
                continue
            if runtime is None:
                runtime = PodRuntime(self, pod)
                with self.lock:
                    self.pods[uid] = runtime
                runtime.start()
                self.report(runtime)
        for uid in set(self.pods) - seen:  # removed without a graceful delete (force)
            runtime = self.pods.pop(uid)
            threading.Thread(target=runtime.terminate, args=(0,), daemon=True).start()

    def _finish(self, runtime: PodRuntime, grace: float) -> None:
        runtime.terminate(grace)
        self._remove(runtime.namespace, runtime.name, runtime.uid)
        with self.lock:
            self.pods.pop(runtime.uid, None)

    def _remove(self, namespace: str, name: str, uid: str) -> None:
        with contextlib.suppress(client.ApiException):
            self.core.delete_namespaced_pod(
                name,
                namespace,
                body=client.V1DeleteOptions(
                    grace_period_seconds=0, preconditions=client.V1Preconditions(uid=uid)
                ),
            )

    def report(self, runtime: PodRuntime) -> None:
        status = runtime.status()
        key = json.dumps(
            {k: v for k, v in status.items() if k != "conditions"}, sort_keys=True
        ) + str([c["status"] for c in status["conditions"]])
        if self.reported.get(runtime.uid) == key or (
            runtime.stopping.is_set() and getattr(runtime, "deleting", False)
        ):
            return
        self.reported[runtime.uid] = key
        with contextlib.suppress(client.ApiException):  # a merge patch: lists and states replace
            self.api.call_api(
                f"/api/v1/namespaces/{runtime.namespace}/pods/{runtime.name}/status",
                "PATCH",
                body={
                    "status": {
                        **status,
                        "containerStatuses": [
                            {
                                **s,
                                "state": {
                                    k: s["state"].get(k)
                                    for k in ("waiting", "running", "terminated")
                                },
                            }
                            for s in status["containerStatuses"]
                        ],
                    }
                },
                header_params={"Content-Type": "application/merge-patch+json"},
                auth_settings=[],
                _preload_content=False,
            )
