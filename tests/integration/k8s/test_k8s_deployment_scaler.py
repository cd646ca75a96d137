"""DeploymentScaler against an in-test HTTP server on 127.0.0.1 speaking the
``apps/v1`` scale subresource, through the real ``kubernetes`` client."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from kubernetes import client

from k8s.actuators import DeploymentScaler
from k8s.errors import ApiClientError, ApiServerError

pytestmark = pytest.mark.integration

SCALE_PATH = "/apis/apps/v1/namespaces/eventfn/deployments/{}/scale"


class FakeApiServer:
    """Deployments' scale subresources in memory; records every request."""

    def __init__(self) -> None:
        self.replicas = {"resize-image": 2}
        self.requests: list[tuple[str, str, str, object]] = []
        self.fail_with: int | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _name(self):
                prefix, _, rest = self.path.partition("/deployments/")
                name, _, tail = rest.partition("/")
                if prefix != "/apis/apps/v1/namespaces/eventfn" or tail != "scale":
                    return None
                return name

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, name):
                if server.fail_with is not None:
                    return self._send(
                        server.fail_with,
                        {
                            "kind": "Status",
                            "apiVersion": "v1",
                            "status": "Failure",
                            "code": server.fail_with,
                        },
                    )
                if name not in server.replicas:
                    return self._send(
                        404,
                        {
                            "kind": "Status",
                            "apiVersion": "v1",
                            "status": "Failure",
                            "reason": "NotFound",
                            "code": 404,
                        },
                    )
                return self._send(
                    200,
                    {
                        "kind": "Scale",
                        "apiVersion": "autoscaling/v1",
                        "metadata": {"name": name, "namespace": "eventfn"},
                        "spec": {"replicas": server.replicas[name]},
                        "status": {"replicas": server.replicas[name]},
                    },
                )

            def do_GET(self):
                server.requests.append(("GET", self.path, "", None))
                self._answer(self._name())

            def do_PATCH(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                content_type = self.headers.get("Content-Type", "")
                server.requests.append(("PATCH", self.path, content_type, body))
                name = self._name()
                if server.fail_with is None and name in server.replicas:
                    server.replicas[name] = body["spec"]["replicas"]
                self._answer(name)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def scaler_for(port: int) -> tuple[DeploymentScaler, client.ApiClient]:
    configuration = client.Configuration(host=f"http://127.0.0.1:{port}")
    configuration.retries = False
    api_client = client.ApiClient(configuration)
    return DeploymentScaler(client.AppsV1Api(api_client), "eventfn"), api_client


@pytest.fixture
def api_server():
    with FakeApiServer() as server:
        yield server


@pytest.fixture
def scaler(api_server):
    scaler, api_client = scaler_for(api_server.port)
    yield scaler
    api_client.close()


def test_reads_and_patches_the_scale_subresource(api_server, scaler):
    assert scaler.replicas("resize-image") == 2
    scaler.scale("resize-image", 5)
    assert scaler.replicas("resize-image") == 5
    scaler.scale("resize-image", 0)
    assert api_server.replicas["resize-image"] == 0
    path = SCALE_PATH.format("resize-image")
    assert [(method, p) for method, p, _, _ in api_server.requests] == [
        ("GET", path),
        ("PATCH", path),
        ("GET", path),
        ("PATCH", path),
    ]
    _, _, content_type, body = api_server.requests[1]
    assert body == {"spec": {"replicas": 5}}
    assert content_type in {
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    }


def test_404_is_a_client_error(api_server, scaler):
    with pytest.raises(ApiClientError) as caught:
        scaler.scale("missing", 1)
    assert caught.value.status == 404
    assert caught.value.target == "deployments/eventfn/missing/scale"


def test_5xx_is_a_server_error(api_server, scaler):
    api_server.fail_with = 503
    with pytest.raises(ApiServerError) as caught:
        scaler.replicas("resize-image")
    assert caught.value.status == 503


def test_no_answer_is_a_server_error():
    with socket.socket() as sock:  # a port nobody listens on any more
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    scaler, api_client = scaler_for(port)
    try:
        with pytest.raises(ApiServerError) as caught:
            scaler.replicas("resize-image")
        assert caught.value.status is None
    finally:
        api_client.close()


def test_negative_replicas_are_refused_before_any_request(api_server, scaler):
    with pytest.raises(ValueError, match=">= 0"):
        scaler.scale("resize-image", -1)
    assert api_server.requests == []
