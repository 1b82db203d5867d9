"""What can be learned from the submission's source without running it (parsed on the trusted side, never executed)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StaticFindings:
    """Syntax errors, banned names and top-level definitions found in the source."""

    syntax_error: dict[str, Any] | None = None
    banned_uses: list[dict[str, Any]] = field(default_factory=list)
    top_level_classes: list[str] = field(default_factory=list)


def analyse_source(source: str, filename: str, banned_callables: list[str]) -> StaticFindings:
    """Parse ``source`` and look for uses of the banned callables (by their final name, aliases included)."""
    findings = StaticFindings()
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        findings.syntax_error = {
            "message": exc.msg,
            "line": exc.lineno,
            "offset": exc.offset,
            "code": (exc.text or "").rstrip("\n"),
        }
        return findings
    except ValueError as exc:  # e.g. null bytes in the source
        findings.syntax_error = {"message": str(exc), "line": None, "offset": None, "code": ""}
        return findings
    findings.banned_uses = _banned_uses(tree, source.splitlines(), banned_callables)
    findings.banned_uses.sort(key=lambda use: use["line"] or 0)
    findings.top_level_classes = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    return findings


def _import_aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> dotted path, for every import in the file (``F`` -> ``torch.nn.functional``)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    aliases[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """The dotted path an expression like ``F.scaled_dot_product_attention`` refers to, if its root is an import."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in aliases:
        return ".".join([aliases[node.id], *reversed(parts)])
    return None


def _banned_uses(tree: ast.AST, lines: list[str], banned_callables: list[str]) -> list[dict[str, Any]]:
    """References to a banned callable through torch's modules (any import alias or re-export path)."""
    banned_names = {path.rsplit(".", 1)[-1]: path for path in banned_callables}
    aliases = _import_aliases(tree)
    uses = []
    for node in ast.walk(tree):
        path = None
        if isinstance(node, (ast.Attribute, ast.Name)):
            path = _dotted(node, aliases)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name in banned_names:
                    path = f"{node.module}.{alias.name}"
        if path is None:
            continue
        root, name = path.split(".")[0], path.rsplit(".", 1)[-1]
        if root == "torch" and name in banned_names:
            line = getattr(node, "lineno", None)
            uses.append({
                "callable": banned_names[name],
                "line": line,
                "code": lines[line - 1].strip() if line and line <= len(lines) else "",
            })
    unique = {(use["callable"], use["line"]): use for use in uses}
    return list(unique.values())
