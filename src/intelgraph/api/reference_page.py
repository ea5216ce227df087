"""The API reference page (/docs): the OpenAPI document as server-rendered HTML.

No script and no outside asset: the styles are inline, so the page reads the same on a
network without internet. Every text from the document is escaped.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

_REF = re.compile(r"&quot;#/components/schemas/([A-Za-z0-9_.-]+)&quot;")
_METHODS = ("get", "put", "post", "patch", "delete")

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem 2rem;
       color: #1d2430; line-height: 1.45; }
nav a { margin-right: .8rem; }
section.operation { border: 1px solid #d8dde6; border-radius: 6px; margin: 1rem 0;
                    padding: .5rem 1rem; }
.method { display: inline-block; min-width: 4.5rem; font-weight: 700; text-transform: uppercase; }
.get { color: #1a6e3a; } .post { color: #1d4fa0; } .put { color: #8a5a00; }
.delete { color: #a01d1d; } .patch { color: #6a1da0; }
code, pre { font-family: ui-monospace, monospace; font-size: .85rem; }
pre { background: #f4f6f9; padding: .6rem; overflow-x: auto; }
table { border-collapse: collapse; } td, th { border: 1px solid #d8dde6; padding: .2rem .5rem;
                                               text-align: left; vertical-align: top; }
.codes { font-family: ui-monospace, monospace; font-size: .8rem; }
"""


def render_reference(document: dict[str, Any]) -> str:
    """The whole page for ``document`` (an OpenAPI 3.1 document as api/openapi.py builds)."""
    info = document.get("info", {})
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((method, path, operation))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(info.get('title', 'API'))} reference</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{_e(info.get('title', 'API'))} <small>{_e(info.get('version', ''))}</small></h1>",
        f"<p>{_e(info.get('description', ''))}</p>",
        '<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a>. Every '
        'error answer has the shape <a href="#schema-ErrorResponse">ErrorResponse</a>; each '
        "operation lists the codes it can answer, by status.</p>",
        "<nav>"
        + "".join(f'<a href="#tag-{_anchor(tag)}">{_e(tag)}</a>' for tag in by_tag)
        + '<a href="#schemas">schemas</a></nav>',
    ]
    for tag, operations in by_tag.items():
        parts.append(f'<h2 id="tag-{_anchor(tag)}">{_e(tag)}</h2>')
        parts += [_operation(method, path, op) for method, path, op in operations]
    parts.append('<h2 id="schemas">Schemas</h2>')
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        parts.append(f'<h3 id="schema-{_anchor(name)}">{_e(name)}</h3>{_schema(schema)}')
    parts.append("</body></html>")
    return "\n".join(parts)


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    anchor = _anchor(operation.get("operationId", f"{method}{path}"))
    parts = [
        f'<section class="operation" id="op-{anchor}">',
        f'<h3><span class="method {method}">{method}</span> <code>{_e(path)}</code></h3>',
        f"<p>{_e(operation.get('summary', ''))}</p>",
    ]
    if operation.get("security") == []:
        parts.append("<p><em>No API key needed.</em></p>")
    parameters = operation.get("parameters", [])
    if parameters:
        rows = "".join(
            f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
            f"<td>{'yes' if p.get('required') else 'no'}</td>"
            f"<td>{_e(p.get('description', ''))}</td>"
            f"<td>{_schema(p.get('schema', {}))}</td></tr>"
            for p in parameters
        )
        parts.append(
            "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th>"
            f"<th>description</th><th>schema</th></tr>{rows}</table>"
        )
    body = operation.get("requestBody")
    if body:
        parts.append(f"<h4>Request body{'' if body.get('required') else ' (optional)'}</h4>")
        if body.get("description"):
            parts.append(f"<p>{_e(body['description'])}</p>")
        parts += _content(body.get("content", {}))
    parts.append("<h4>Responses</h4><table><tr><th>status</th><th>answer</th></tr>")
    for status, response in operation.get("responses", {}).items():
        description = _e(response.get("description", ""))
        if response.get("x-error-codes"):  # the one error shape; the description names codes
            cell = f'<span class="codes">{description}</span>'
        else:
            cell = description + "".join(_content(response.get("content", {})))
        parts.append(f"<tr><td>{_e(status)}</td><td>{cell}</td></tr>")
    parts.append("</table></section>")
    return "\n".join(parts)


def _content(content: dict[str, Any]) -> list[str]:
    return [
        f"<p><code>{_e(media)}</code></p>{_schema(item.get('schema', {}))}"
        for media, item in content.items()
    ]


def _schema(schema: dict[str, Any]) -> str:
    text = _e(json.dumps(schema, indent=2, ensure_ascii=False))
    linked = _REF.sub(
        lambda m: f'<a href="#schema-{_anchor(m.group(1))}">&quot;{m.group(1)}&quot;</a>', text
    )
    return f"<pre>{linked}</pre>"


def _anchor(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
