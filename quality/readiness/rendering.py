"""Rendered templates are valid: what API Gateway renders as JSON parses as JSON for any error message.

Gateway responses and access-log formats are plain variable substitution; integration response mapping
templates are Velocity (rendered here with airspeed, a Velocity engine for Python). Each JSON template is
rendered with error messages and user-controlled values that contain quotes, backslashes, newlines and
non-ASCII text, and every rendering must parse. `$context.error.messageString` is the message already
quoted as a JSON string; `$context.error.message` is the raw text.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from typing import Any

import airspeed  # type: ignore[import-untyped]

from quality.readiness.base import Check, Context, Finding
from quality.readiness.template import as_list

SAMPLE_MESSAGES = (
    "Invalid request body",
    'Missing required request parameters: [Idempotency-Key] "quoted"',
    "a \\ backslash, a ' quote and a / slash",
    "two\nlines\tand a tab",
    "non-ASCII: Ünïcødé ✓",
    "",
)
# Variables whose value API Gateway quotes as a JSON string.
_QUOTED = {"context.error.messageString", "context.error.validationErrorString"}
# Variables whose raw value comes from the error or the caller, so may hold any character.
_RAW_UNTRUSTED = re.compile(
    r"^(context\.error\.message|context\.identity\.(userAgent|caller|user|userArn)|context\.path"
    r"|context\.authorizer\..*|method\.request\..*|stageVariables\..*)$"
)
_NAME = r"(?:context|stageVariables|method\.request\.(?:multivalue)?(?:header|querystring|path))\.[A-Za-z0-9_.\-]+"
_VARIABLE = re.compile(rf"\$(?:\{{(?P<braced>{_NAME})\}}|(?P<bare>{_NAME}))")


def substitute(template: str, message: str) -> str:
    """`template` as API Gateway renders it by plain substitution, with `message` as the error message."""

    def value(match: re.Match[str]) -> str:
        name = (match.group("braced") or match.group("bare")).rstrip(".")
        if name in _QUOTED:
            return json.dumps(message)
        if _RAW_UNTRUSTED.match(name):
            return message
        return "x1"  # request ids, times, status codes: no characters that need escaping

    return _VARIABLE.sub(value, template)


def _escape_javascript(text: Any) -> str:
    """What API Gateway's $util.escapeJavaScript does (Apache Commons' escapeJavaScript)."""
    out = []
    for char in str(text):
        if char in "\"'\\/":
            out.append("\\" + char)
        elif char in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        elif ord(char) < 32 or ord(char) > 126:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


class _Util:
    def escapeJavaScript(self, text: Any) -> str:
        return _escape_javascript(text)

    def parseJson(self, text: str) -> Any:
        return json.loads(text)

    def urlEncode(self, text: str) -> str:
        return urllib.parse.quote_plus(str(text))

    def urlDecode(self, text: str) -> str:
        return urllib.parse.unquote_plus(str(text))

    def base64Encode(self, text: str) -> str:
        return base64.b64encode(str(text).encode()).decode()

    def base64Decode(self, text: str) -> str:
        return base64.b64decode(str(text)).decode(errors="replace")


class _Input:
    """$input of an integration response: the backend's error body."""

    def __init__(self, message: str) -> None:
        self._body = {"errorMessage": message, "errorType": "Error", "message": message, "stackTrace": [message]}

    def _select(self, path: str) -> Any:
        node: Any = self._body
        for part in [p for p in re.split(r"\.|\[['\"]?|['\"]?\]", path.removeprefix("$")) if p]:
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def path(self, path: str) -> Any:
        return self._select(path)

    def json(self, path: str) -> str:
        return json.dumps(self._select(path))

    @property
    def body(self) -> str:
        return json.dumps(self._body)

    def params(self, *_: str) -> dict[str, Any]:
        return {"header": {}, "querystring": {}, "path": {}}


def _context_namespace(message: str) -> dict[str, Any]:
    error = {"message": message, "messageString": json.dumps(message), "responseType": "DEFAULT_5XX"}
    return {
        "context": {"error": error, "requestId": "x1", "identity": {"sourceIp": "192.0.2.1", "userAgent": message}},
        "stageVariables": {},
        "util": _Util(),
        "input": _Input(message),
    }


def _render_vtl(template: str, message: str) -> str:
    return str(airspeed.Template(template).merge(_context_namespace(message)))


def _json_templates(templates: Any) -> dict[str, str]:
    return {
        content_type: text
        for content_type, text in (templates or {}).items()
        if isinstance(text, str) and content_type.split(";")[0].strip().endswith("json")
    }


def _broken(templates: dict[str, str], render: Any, where: str, token: str) -> list[Finding]:
    findings = []
    for content_type, text in sorted(templates.items()):
        for message in SAMPLE_MESSAGES:
            rendered = text
            try:
                rendered = render(text, message)
                json.loads(rendered)
            except Exception as error:  # a template that does not render or parse: both are findings
                sample = rendered
                findings.append(
                    Finding(
                        f"{token}:{content_type}",
                        f"{where} ({content_type}) renders invalid JSON for message {message!r}: {sample[:160]!r} "
                        f"({type(error).__name__}: {error})",
                    )
                )
                break
    return findings


def _gateway_response(context: Context, logical_id: str) -> list[Finding]:
    props = context.stack.props(logical_id)
    kind = props.get("ResponseType", "?")
    return _broken(_json_templates(props.get("ResponseTemplates")), substitute, f"gateway response {kind}", kind)


def _method(context: Context, logical_id: str) -> list[Finding]:
    integration = context.stack.props(logical_id).get("Integration", {})
    findings = []
    for response in as_list(integration.get("IntegrationResponses")):
        status = str(response.get("StatusCode", "?"))
        templates = _json_templates(response.get("ResponseTemplates"))
        findings += _broken(templates, _render_vtl, f"integration response {status}", status)
    return findings


def _access_log_format(context: Context, logical_id: str) -> list[Finding]:
    log_format = context.stack.props(logical_id).get("AccessLogSetting", {}).get("Format")
    if not isinstance(log_format, str) or not log_format.lstrip().startswith("{"):
        return []
    return _broken({"application/json": log_format}, substitute, "access log format", "AccessLog")


CHECKS = [
    Check(
        name="TemplatesRenderValidJson",
        info="An API Gateway template renders invalid JSON:",
        explanation=(
            "Gateway responses (validator rejections, throttling, WAF blocks), integration response mapping "
            "templates and JSON access-log formats are rendered by API Gateway with values it does not escape "
            "unless told to: $context.error.messageString is already a quoted string, $context.error.message and "
            "caller-supplied values are raw. Clients (or log queries) then get text that is not JSON."
        ),
        resource_types=frozenset({"AWS::ApiGateway::GatewayResponse"}),
        findings=_gateway_response,
    ),
    Check(
        name="MappingTemplatesRenderValidJson",
        info="An API Gateway integration response mapping template renders invalid JSON:",
        explanation=(
            "Velocity mapping templates that build JSON from backend error messages must escape them "
            "(e.g. $input.json('$.errorMessage'), not \"$input.path('$.errorMessage')\"; $util.escapeJavaScript "
            "also escapes single quotes, which JSON does not allow)."
        ),
        resource_types=frozenset({"AWS::ApiGateway::Method"}),
        findings=_method,
    ),
    Check(
        name="AccessLogFormatRendersValidJson",
        info="An API Gateway JSON access-log format renders invalid JSON:",
        explanation="Raw variables such as $context.error.message or a user agent break a JSON log line when quoted.",
        resource_types=frozenset({"AWS::ApiGateway::Stage"}),
        findings=_access_log_format,
    ),
]
