"""A local stand-in for an API Gateway HTTP API in front of deployed Lambda artifacts.

It reads the API's routes, integrations and CORS configuration back from the emulator and
translates each HTTP request into the HTTP API **payload format 2.0** event, invokes the
function through :class:`clickstream.lambda_runner.LambdaRunner`, and translates the result back
the way API Gateway does (including the "simple response" form where a handler returns a bare
dict). So the browser tracker, the traffic generator and the e2e tests talk HTTP to the same
artifact and configuration Terraform deployed.

Behaviour copied from API Gateway HTTP APIs: unmatched routes answer 404
``{"message":"Not Found"}``; a function error answers 500 ``{"message":"Internal Server
Error"}``; bodies over 10 MB answer 413; with a CORS configuration, preflight ``OPTIONS`` requests
are answered by the gateway itself and allowed origins get ``Access-Control-*`` headers.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3

from clickstream.lambda_runner import LambdaInvokeError, LambdaRunner, LambdaRunnerError

log = logging.getLogger(__name__)

MAX_PAYLOAD = 10 * 1024 * 1024  # HTTP API payload quota
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded",
               "application/javascript")


@dataclass
class Cors:
    """An HTTP API CorsConfiguration (lists of strings, as the API stores them)."""

    allow_origins: list[str] = field(default_factory=list)
    allow_methods: list[str] = field(default_factory=list)
    allow_headers: list[str] = field(default_factory=list)
    expose_headers: list[str] = field(default_factory=list)
    max_age: int = 0
    allow_credentials: bool = False

    @classmethod
    def from_api(cls, conf: Mapping[str, Any] | None) -> Cors | None:
        if not conf:
            return None
        return cls(
            allow_origins=list(conf.get("AllowOrigins", [])),
            allow_methods=[m.upper() for m in conf.get("AllowMethods", [])],
            allow_headers=[h.lower() for h in conf.get("AllowHeaders", [])],
            expose_headers=list(conf.get("ExposeHeaders", [])),
            max_age=int(conf.get("MaxAge", 0) or 0),
            allow_credentials=bool(conf.get("AllowCredentials", False)),
        )

    def origin_allowed(self, origin: str | None) -> bool:
        return bool(origin) and ("*" in self.allow_origins or origin in self.allow_origins)

    def response_headers(self, origin: str | None) -> dict[str, str]:
        if not self.origin_allowed(origin):
            return {}
        headers = {"Access-Control-Allow-Origin": "*" if "*" in self.allow_origins else str(origin)}
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        if self.expose_headers:
            headers["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
        return headers


def _route_matches(route_key: str, method: str, path: str) -> bool:
    if route_key == "$default":
        return True
    r_method, _, r_path = route_key.partition(" ")
    return r_path == path and r_method in (method, "ANY")


def build_event(
    *, method: str, raw_path: str, headers: Mapping[str, str], body: bytes, route_key: str,
    source_ip: str, api_id: str, stage: str = "$default", host: str = "localhost",
) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway sends to a Lambda integration."""
    parts = urlsplit(raw_path)
    lowered: dict[str, str] = {}
    for k, v in headers.items():
        key = k.lower()
        lowered[key] = f"{lowered[key]},{v}" if key in lowered else v
    cookies = [c.strip() for c in lowered.pop("cookie", "").split(";") if c.strip()]
    content_type = lowered.get("content-type", "").lower()
    is_text = content_type.startswith(_TEXT_TYPES) and "content-encoding" not in lowered
    try:
        text_body = body.decode("utf-8") if is_text else None
    except UnicodeDecodeError:
        text_body = None
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method, "path": parts.path, "protocol": "HTTP/1.1",
                "sourceIp": source_ip, "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": base64.b32encode(uuid.uuid4().bytes)[:16].decode(),
            "routeKey": route_key,
            "stage": stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if parts.query:
        qs: dict[str, str] = {}
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            qs[k] = f"{qs[k]},{v}" if k in qs else v
        event["queryStringParameters"] = qs
    if body:
        if text_body is not None:
            event["body"] = text_body
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def translate_result(result: Any) -> tuple[int, dict[str, str], list[str], bytes]:
    """Status, headers, cookies and body from a handler's return value (format 2.0 rules)."""
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        return int(result["statusCode"]), headers, list(result.get("cookies") or []), raw
    # "Simple response": API Gateway assumes 200 and JSON.
    body = result if isinstance(result, str) else json.dumps(result)
    return 200, {"content-type": "application/json"}, [], body.encode()


@dataclass
class Route:
    key: str
    runner: LambdaRunner


class HttpApi:
    """Serve one HTTP API on loopback. ``url`` is its invoke URL once started."""

    def __init__(self, api_id: str, routes: list[Route], cors: Cors | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_id = api_id
        self.routes = routes
        self.cors = cors
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @classmethod
    def from_emulator(cls, api_id: str, runners: Mapping[str, LambdaRunner], **kwargs: Any) -> HttpApi:
        """Routes and CORS as the emulator has them; ``runners`` maps function name -> runner."""
        client = boto3.client("apigatewayv2")
        api = client.get_api(ApiId=api_id)
        routes: list[Route] = []
        for r in client.get_routes(ApiId=api_id)["Items"]:
            target = r.get("Target", "")
            if not target.startswith("integrations/"):
                continue
            integ = client.get_integration(ApiId=api_id, IntegrationId=target.split("/", 1)[1])
            uri = integ.get("IntegrationUri", "")
            fn_name = next((n for n in runners if uri.endswith(f":function:{n}") or f":function:{n}/" in uri
                            or uri.endswith(f":function:{n}/invocations")), None)
            if fn_name is None:
                raise LambdaRunnerError(f"route {r['RouteKey']} targets {uri}: no runner for that function")
            routes.append(Route(r["RouteKey"], runners[fn_name]))
        # Most specific first, $default last, as API Gateway matches.
        routes.sort(key=lambda r: (r.key == "$default", r.key.startswith("ANY ")))
        return cls(api_id, routes, Cors.from_api(api.get("CorsConfiguration")), **kwargs)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HttpApi:
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HttpApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The request handler of this API's server: :class:`_Handler` bound to ``self``."""
        return type("Handler", (_Handler,), {"api": self})


class _Handler(BaseHTTPRequestHandler):
    """One request to the emulated HTTP API: CORS preflight, route match, Lambda invoke."""

    protocol_version = "HTTP/1.1"
    api: HttpApi  # set by HttpApi._handler_class for each server

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("http-api %s", fmt % args)

    def _send(self, status: int, headers: Mapping[str, str], body: bytes,
              cookies: list[str] | None = None) -> None:
        self.send_response(status)
        sent = {k.lower() for k in headers}
        for k, v in headers.items():
            self.send_header(k, v)
        for c in cookies or []:
            self.send_header("Set-Cookie", c)
        if self.api.cors:
            for k, v in self.api.cors.response_headers(self.headers.get("Origin")).items():
                if k.lower() not in sent:
                    self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("apigw-requestid", uuid.uuid4().hex[:16])
        self.end_headers()
        self.wfile.write(body)

    def _message(self, status: int, message: str) -> None:
        self._send(status, {"Content-Type": "application/json"},
                   json.dumps({"message": message}).encode())

    def _preflight(self) -> None:
        """Answer a CORS preflight as API Gateway does: 204, allow headers only for allowed origins."""
        cors = self.api.cors
        headers: dict[str, str] = {}
        if cors and cors.origin_allowed(self.headers.get("Origin")):
            headers = {
                "Access-Control-Allow-Methods": ",".join(cors.allow_methods or ["*"]),
                "Access-Control-Allow-Headers": ",".join(cors.allow_headers or ["*"]),
            }
            if cors.max_age:
                headers["Access-Control-Max-Age"] = str(cors.max_age)
        self._send(204, headers, b"")

    def _invoke(self, route: Route, method: str, path: str, body: bytes) -> None:
        """Run the route's function on the request and send what it returned (500 if it failed)."""
        event = build_event(
            method=method, raw_path=self.path, headers=dict(self.headers.items()), body=body,
            route_key=route.key, source_ip=self.client_address[0], api_id=self.api.api_id,
            host=self.headers.get("Host", "localhost"),
        )
        try:
            result = route.runner.invoke(event)
        except (LambdaInvokeError, LambdaRunnerError) as exc:
            log.warning("function error on %s %s: %s", method, path, exc)
            self._message(500, "Internal Server Error")
            return
        try:
            status, headers, cookies, raw = translate_result(result)
        except (ValueError, TypeError) as exc:  # malformed Lambda response
            log.warning("malformed function response: %s", exc)
            self._message(500, "Internal Server Error")
            return
        self._send(status, headers, raw, cookies)

    def _dispatch(self) -> None:
        method = self.command.upper()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD:
            self.close_connection = True
            self._message(413, "Request Entity Too Large")
            return
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if method == "OPTIONS" and self.api.cors and self.headers.get("Access-Control-Request-Method"):
            self._preflight()
            return
        route = next((r for r in self.api.routes if _route_matches(r.key, method, path)), None)
        if route is None:
            self._message(404, "Not Found")
            return
        self._invoke(route, method, path, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _dispatch
