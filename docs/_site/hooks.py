"""MkDocs hooks for the documentation site (``mkdocs.yml``).

Why hooks: the project's READMEs live beside their packages (PyPI shows them), and the API
reference must come from the same OpenAPI document the server serves, so neither is copied into
``docs/`` by hand where it would go stale. The hooks add them as generated pages and rewrite
repository-relative links (``../packages/x/README.md``) into links between site pages; a link to
any other file outside ``docs/`` (source code) becomes its path as code text, since the site has
no source browser.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)

# Generated page (site path) -> the repository file it is made from.
README_PAGES: dict[str, str] = {"project/readme.md": "README.md"}
for _readme in sorted(ROOT.glob("packages/*/README.md")) + sorted(ROOT.glob("plugins/*/README.md")):
    _package = _readme.parent.name
    README_PAGES[f"project/{_package}.md"] = _readme.relative_to(ROOT).as_posix()
REPO_TO_PAGE = {repo: page for page, repo in README_PAGES.items()}
API_REFERENCE = "reference/api-reference.md"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for page, repo in README_PAGES.items():
        files.append(File.generated(config, page, content=(ROOT / repo).read_text("utf-8")))
    files.append(File.generated(config, API_REFERENCE, content=api_reference()))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    uri = page.file.src_uri
    repo_path = README_PAGES.get(uri, f"docs/{uri}")
    # Links inside fenced code are examples, not navigation: only rewrite outside fences.
    parts = FENCE.split(markdown)
    out: list[str] = []
    inside = False
    index = 0
    while index < len(parts):
        part = parts[index]
        if part in ("```", "~~~"):
            out.append(part)
            inside = not inside
        elif inside:
            out.append(part)
        else:
            out.append(LINK.sub(lambda m: _rewrite(m, repo_path, uri), part))
        index += 1
    return "".join(out)


def _rewrite(match: re.Match[str], repo_path: str, page_uri: str) -> str:
    bang, text, target = match.groups()
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return match.group(0)
    path, _, anchor = target.partition("#")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(repo_path), path))
    if resolved.startswith("docs/"):
        site_target = resolved.removeprefix("docs/")
    elif resolved in REPO_TO_PAGE:
        site_target = REPO_TO_PAGE[resolved]
    elif f"{resolved}/README.md" in REPO_TO_PAGE:
        site_target = REPO_TO_PAGE[f"{resolved}/README.md"]
    else:
        # A source file or folder of the repository: name it, there is nothing to link to.
        return f"{text} (`{resolved}`)" if not bang else f"`{resolved}`"
    relative = posixpath.relpath(site_target, posixpath.dirname(page_uri) or ".")
    return f"{bang}[{text}]({relative}{'#' + anchor if anchor else ''})"


def api_reference() -> str:
    """Every operation and schema of the JSON API, from the document the server serves."""
    from cabinet_web.api.openapi import build_openapi
    from cabinet_web.api.v1 import ENDPOINTS

    document = build_openapi(ENDPOINTS, server_url="https://cabinet.example.pl")
    lines = [
        "# API reference",
        "",
        "Generated when the site is built from the OpenAPI document the server itself serves at",
        "`/api/v1/openapi.json` (OpenAPI "
        f"{document['openapi']}). The [JSON API guide](../api.md) explains tokens, problems and",
        "paging with examples.",
        "",
    ]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            lines += [f"## `{method.upper()} {path}`", "", operation.get("summary", ""), ""]
            if operation.get("description"):
                lines += [operation["description"], ""]
            parameters = operation.get("parameters", [])
            if parameters:
                lines += ["| parameter | in | required | schema |", "|---|---|---|---|"]
                for parameter in parameters:
                    schema = json.dumps(parameter.get("schema", {}), ensure_ascii=False)
                    lines.append(
                        f"| `{parameter['name']}` | {parameter['in']} | "
                        f"{'yes' if parameter.get('required') else 'no'} | `{schema}` |"
                    )
                lines.append("")
            body = operation.get("requestBody", {}).get("content", {})
            for media_type, content in body.items():
                shape = _schema_text(content.get("schema", {}))
                lines += [f"Request body (`{media_type}`): {shape}", ""]
            lines += ["| status | answer |", "|---|---|"]
            for status, answer in operation.get("responses", {}).items():
                schema = next(iter(answer.get("content", {}).values()), {}).get("schema")
                shape = f" — {_schema_text(schema)}" if schema else ""
                lines.append(f"| {status} | {answer.get('description', '')}{shape} |")
            lines.append("")
    lines += ["## Schemas", ""]
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        lines += [f"### {name}", ""]
        if schema.get("description"):
            lines += [schema["description"], ""]
        properties = schema.get("properties", {})
        if properties:
            required = set(schema.get("required", []))
            lines += ["| field | required | schema |", "|---|---|---|"]
            for field, field_schema in properties.items():
                lines.append(
                    f"| `{field}` | {'yes' if field in required else 'no'} | "
                    f"{_schema_text(field_schema)} |"
                )
            lines.append("")
    return "\n".join(lines) + "\n"


def _schema_text(schema: Any) -> str:
    if isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    text = json.dumps(schema, ensure_ascii=False).replace("|", "\\|")
    return f"`{text}`"
