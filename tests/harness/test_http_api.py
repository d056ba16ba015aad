"""The local HTTP API speaks payload format 2.0 to the deployed artifact, as API Gateway does."""

from __future__ import annotations

import base64
import http.client
import json
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest

from clickstream.build import build_lambda
from clickstream.http_api import HttpApi, build_event, translate_result
from clickstream.lambda_runner import run_deployed

pytestmark = pytest.mark.harness

ECHO = '''
import json

def handler(event, context):
    if event.get("rawQueryString") == "fail=1":
        raise RuntimeError("boom")
    if event.get("rawQueryString") == "simple=1":
        return {"simple": True}
    return {"statusCode": 201, "headers": {"x-route": event["routeKey"]},
            "cookies": ["a=1"], "body": json.dumps(event)}
'''


@pytest.fixture(scope="module")
def api(emulator, tmp_path_factory):
    emulator.reset()
    tmp = tmp_path_factory.mktemp("httpapi")
    src = tmp / "src" / "fn"
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "handler.py").write_text(ECHO)
    zip_path, _ = build_lambda("fn", tmp / "out", src=tmp / "src")
    role = boto3.client("iam").create_role(RoleName="echo-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = boto3.client("lambda").create_function(
        FunctionName="echo", Runtime="python3.12", Role=role, Handler="fn.handler.handler",
        Code={"ZipFile": Path(zip_path).read_bytes()}, Timeout=5,
    )
    gw = boto3.client("apigatewayv2")
    api_id = gw.create_api(Name="t", ProtocolType="HTTP", CorsConfiguration={
        "AllowOrigins": ["https://shop.example"], "AllowMethods": ["POST", "OPTIONS"],
        "AllowHeaders": ["content-type"], "MaxAge": 600})["ApiId"]
    integ = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=fn["FunctionArn"],
                                  PayloadFormatVersion="2.0")["IntegrationId"]
    gw.create_route(ApiId=api_id, RouteKey="POST /v1/echo", Target=f"integrations/{integ}")
    with run_deployed("echo", zip_path) as runner, HttpApi.from_emulator(api_id, {"echo": runner}) as server:
        yield server


def _request(api: HttpApi, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    u = urlsplit(api.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def test_a_routed_request_reaches_the_function_as_a_v2_event(api) -> None:
    status, headers, data = _request(api, "POST", "/v1/echo?a=1&a=2", b'{"x":1}',
                                     {"Content-Type": "application/json", "Origin": "https://shop.example",
                                      "Cookie": "c1=v; c2=w", "User-Agent": "ua/1"})
    assert status == 201
    assert headers["x-route"] == "POST /v1/echo"
    assert headers["set-cookie"] == "a=1"
    assert headers["access-control-allow-origin"] == "https://shop.example"
    event = json.loads(data)
    assert event["version"] == "2.0" and event["rawPath"] == "/v1/echo"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["cookies"] == ["c1=v", "c2=w"]
    assert event["body"] == '{"x":1}' and event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["http"]["userAgent"] == "ua/1"


def test_binary_and_gzip_bodies_arrive_base64_encoded(api) -> None:
    raw = b"\x1f\x8b\x08\x00binary"
    _, _, data = _request(api, "POST", "/v1/echo", raw, {"Content-Type": "application/json",
                                                         "Content-Encoding": "gzip"})
    event = json.loads(data)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_unmatched_routes_and_methods_are_404_like_api_gateway(api) -> None:
    assert _request(api, "GET", "/v1/echo")[0] == 404
    status, _, data = _request(api, "POST", "/nope")
    assert status == 404 and json.loads(data) == {"message": "Not Found"}


def test_function_errors_are_500_internal_server_error(api) -> None:
    status, _, data = _request(api, "POST", "/v1/echo?fail=1", b"{}", {"Content-Type": "application/json"})
    assert status == 500 and json.loads(data) == {"message": "Internal Server Error"}


def test_a_simple_response_is_200_json(api) -> None:
    status, headers, data = _request(api, "POST", "/v1/echo?simple=1")
    assert status == 200 and json.loads(data) == {"simple": True}
    assert headers["content-type"] == "application/json"


def test_preflight_is_answered_by_the_gateway_for_allowed_origins_only(api) -> None:
    pre = {"Access-Control-Request-Method": "POST"}
    status, headers, _ = _request(api, "OPTIONS", "/v1/echo", headers={**pre, "Origin": "https://shop.example"})
    assert status == 204
    assert headers["access-control-allow-origin"] == "https://shop.example"
    assert headers["access-control-allow-methods"] == "POST,OPTIONS"
    assert headers["access-control-max-age"] == "600"
    status, headers, _ = _request(api, "OPTIONS", "/v1/echo", headers={**pre, "Origin": "https://evil.example"})
    assert status == 204 and "access-control-allow-origin" not in headers


def test_oversized_payload_is_413_before_reaching_the_function(api) -> None:
    u = urlsplit(api.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.putrequest("POST", "/v1/echo")
    conn.putheader("Content-Length", str(11 * 1024 * 1024))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()


def test_translate_result_handles_base64_bodies() -> None:
    status, _headers, _cookies, body = translate_result(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True})
    assert (status, body) == (200, b"\x00\x01")


def test_build_event_joins_repeated_headers() -> None:
    event = build_event(method="POST", raw_path="/p", headers={"X-A": "1", "x-a": "2"}, body=b"",
                        route_key="POST /p", source_ip="10.0.0.1", api_id="abc")
    assert event["headers"]["x-a"] == "1,2"
    assert "body" not in event
