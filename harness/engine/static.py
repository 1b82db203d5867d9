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
    unverifiable: list[dict[str, Any]] = field(default_factory=list)
    """Code whose calls cannot be checked from the source: dynamic code, dynamic attributes of torch, torch's
    internal op registries, introspection of the process (how a submission would reach the grader's agent)."""
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
    findings.unverifiable = _unverifiable_uses(tree, source.splitlines(), banned_callables, findings.banned_uses)
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


_DYNAMIC_BUILTINS = {"eval", "exec", "compile", "__import__"}
_INTROSPECTION = {"gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._getframe", "inspect.stack",
                  "inspect.currentframe", "inspect.getouterframes", "inspect.trace", "ctypes.cast"}
_INTERNALS = ("torch._C", "torch.ops")


def _unverifiable_uses(tree: ast.AST, lines: list[str], banned_callables: list[str],
                       banned_uses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Constructs that hide which functions are called; ``getattr`` of a banned name is added to ``banned_uses``."""
    aliases = _import_aliases(tree)
    banned_names = {path.rsplit(".", 1)[-1]: path for path in banned_callables}
    found: list[dict[str, Any]] = []

    def note(node: ast.AST, reason: str) -> None:
        line = getattr(node, "lineno", None)
        found.append({"reason": reason, "line": line,
                      "code": lines[line - 1].strip() if line and line <= len(lines) else ""})

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            target = _dotted(node.func, aliases) if isinstance(node.func, ast.Attribute | ast.Name) else None
            if name in _DYNAMIC_BUILTINS and name not in aliases:
                note(node, f"{name}() runs code that cannot be checked")
            elif target in ("importlib.import_module", "importlib.__import__") and not (
                node.args and isinstance(node.args[0], ast.Constant)
            ):
                note(node, "imports a module chosen at run time")
            elif name == "getattr" and len(node.args) >= 2:
                owner = _dotted(node.args[0], aliases)
                attribute = node.args[1]
                if owner is not None and owner.split(".")[0] == "torch":
                    if isinstance(attribute, ast.Constant) and attribute.value in banned_names:
                        banned_uses.append({"callable": banned_names[str(attribute.value)], "line": node.lineno,
                                            "code": lines[node.lineno - 1].strip()})
                    elif not isinstance(attribute, ast.Constant):
                        note(node, "looks up a torch function by a name computed at run time")
        if isinstance(node, ast.Attribute):
            path = _dotted(node, aliases)
            if path in _INTROSPECTION:
                note(node, f"{path} inspects the running process")
            elif path is not None and path.startswith(_INTERNALS) and path.count(".") == 1:
                note(node, f"{path} reaches torch's internal operator registry")
    unique = {(use["reason"], use["line"]): use for use in found}
    return sorted(unique.values(), key=lambda use: use["line"] or 0)
