"""The HTTP app that mounts the faces on one listen address: the OpenStack services under
their DevStack path prefixes, the web dashboard under /dashboard, Prometheus metrics at
/metrics, the API of other hosts' `overcast agent` under /agent/v1, EC2 everywhere else. Every
request to a face gets one log line and its metrics (overcast/api/requestlog.py)."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from werkzeug.wrappers import Response

from overcast import metrics
from overcast.api.agent import AgentApi
from overcast.api.requestlog import NotedEc2App, observed
from overcast.api.requestnote import note_action
from overcast.cloud.service import Cloud
from overcast.web.app import Dashboard

Wsgi = Callable[[dict[str, Any], Any], Iterable[bytes]]


def _openstack_faces(cloud: Cloud) -> dict[str, Wsgi]:
    from overcast.api.openstack.mount import faces

    return faces(cloud)


class MetricsEndpoint:
    """GET /metrics in Prometheus' text format; with a token set, only for scrapers that
    send it as `Authorization: Bearer <token>`."""

    def __init__(self, cloud: Cloud) -> None:
        self.source = metrics.exposition(cloud)
        self.token = cloud.settings.metrics_token

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.token and not hmac.compare_digest(
                environ.get("HTTP_AUTHORIZATION", "").encode(),
                f"Bearer {self.token}".encode()):
            response = Response("A valid bearer token is needed for /metrics.\n", status=401,
                                headers={"WWW-Authenticate": "Bearer"})
        elif environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            response = Response("Only GET.\n", status=405, headers={"Allow": "GET, HEAD"})
        else:
            response = Response(metrics.render(self.source), content_type=CONTENT_TYPE_LATEST)
        return response(environ, start_response)


class NotedDashboard(Dashboard):
    """The dashboard, its route noted for the request log and metrics."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        note_action(environ, self.route_label(environ))
        return super().__call__(environ, start_response)


class App:
    def __init__(self, cloud: Cloud, metadata_endpoint: tuple[str, int] | None = None) -> None:
        self.ec2 = NotedEc2App(cloud)
        self.prefixed = _openstack_faces(cloud)  # first path segment -> face
        self.prefixed["dashboard"] = NotedDashboard(cloud)
        self.prefixed["agent"] = AgentApi(cloud, metadata_endpoint)
        self.metrics = MetricsEndpoint(cloud)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return self.metrics(environ, start_response)
        first = path.lstrip("/").split("/", 1)[0]
        face = self.prefixed.get(first)
        if face is None:
            return observed("ec2", self.ec2, environ, start_response)
        return observed(first.removesuffix(".json"), face, environ, start_response)
