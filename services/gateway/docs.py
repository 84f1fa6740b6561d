"""An offline documentation page rendered from the OpenAPI document (no CDN, no script)."""

from __future__ import annotations

import html
import json
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;
color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ccc}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.m{font-weight:700;font-family:monospace;padding:.1rem .4rem;border-radius:4px;background:#eee}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;max-height:24rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return f'<a href="#schema-{_e(name)}">{_e(name)}</a>'
    return f"<code>{_e(json.dumps(schema))}</code>"


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    parts = [
        f'<div class="op" id="{_e(op["operationId"])}">',
        (
            f'<p><span class="m">{_e(method.upper())}</span> <code>{_e(path)}</code> '
            f"&mdash; {_e(op['summary'])}</p>"
        ),
    ]
    if op.get("description"):
        parts.append(f"<p>{_e(op['description'])}</p>")
    parts.append(
        "<p>Authentication: "
        + ("bearer token or client certificate" if op.get("security") else "none")
        + "</p>"
    )
    if op.get("parameters"):
        rows = "".join(
            f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
            f"<td>{_e(p['description'])}</td></tr>"
            for p in op["parameters"]
        )
        parts.append(f"<table><tr><th>parameter</th><th>in</th><th></th></tr>{rows}</table>")
    body = op.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        parts.append(f"<p>Request body ({_e(media)}): {_schema_name(content['schema'])}</p>")
    lines = []
    for status, response in op["responses"].items():
        schemas = ", ".join(
            f"{_e(media)}: {_schema_name(c['schema'])}"
            for media, c in response.get("content", {}).items()
        )
        lines.append(
            f"<tr><td>{_e(status)}</td><td>{_e(response['description'])}</td>"
            f"<td>{schemas}</td></tr>"
        )
    parts.append(f"<table><tr><th>status</th><th></th><th>body</th></tr>{''.join(lines)}</table>")
    parts.append("</div>")
    return "".join(parts)


def render(document: dict[str, Any]) -> str:
    info = document["info"]
    ops = [
        _operation(path, method, op)
        for path, methods in document["paths"].items()
        for method, op in methods.items()
    ]
    schemas = [
        f'<h3 id="schema-{_e(name)}">{_e(name)}</h3><pre>{_e(json.dumps(s, indent=2))}</pre>'
        for name, s in sorted(document["components"]["schemas"].items())
    ]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{_e(info['title'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_e(info['title'])} <small>{_e(info['version'])}</small></h1>"
        f"<p>{_e(info.get('description', ''))}</p>"
        '<p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a></p>'
        f"<h2>Operations</h2>{''.join(ops)}<h2>Schemas</h2>{''.join(schemas)}"
        "</body></html>"
    )
