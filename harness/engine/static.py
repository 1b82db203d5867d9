"""What can be learned from the submission's source without running it (parsed on the trusted side, never executed).

The scan must see the code Python will run: the file's bytes are decoded by Python's own rules (PEP 263 cookie, BOM)
and parsed by Python's own parser, and encodings other than UTF-8, ASCII and Latin-1 are refused outright. Whatever
the parser cannot handle (deep nesting, null bytes, a huge file) is the candidate's compile error, never the grader's
exception, and the work done for it is bounded before the parser starts. Every piece of the candidate's text that
goes into a finding is capped, so a padded line cannot bloat the scorecard.
"""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Any

MAX_SOURCE_BYTES = 2 * 1024 * 1024
"""Files above this are refused: no real answer comes close, and the parser's memory grows with the file."""
MAX_TOKENS = 50_000
"""A cheap upper estimate of the parser's work (its memory grows with the tokens, not with the bytes): a long comment
or string literal counts once, so a padded line still parses, but a megabyte of dense code does not."""
F_STRING_FIELD_COST = 20
"""What one f-string replacement field counts for in that estimate."""
MAX_QUOTE_CHARS = 200
"""The most characters of one source line quoted in a finding."""
MAX_MESSAGE_CHARS = 500
"""The most characters of a parser message (which can quote the candidate's code) kept in a finding."""
ACCEPTED_ENCODINGS = {"utf-8", "utf-8-sig", "ascii", "iso8859-1"}
"""Source encodings accepted (as :func:`codecs.lookup` names them); anything else could hide code from a reader."""


class SourceRefused(Exception):
    """The file cannot be read as Python source; ``line`` is where the problem is, when one line is to blame."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class StaticFindings:
    """Syntax errors, banned names and top-level definitions found in the source."""

    syntax_error: dict[str, Any] | None = None
    banned_uses: list[dict[str, Any]] = field(default_factory=list)
    unverifiable: list[dict[str, Any]] = field(default_factory=list)
    """Code whose calls cannot be checked from the source: dynamic code, dynamic attributes of torch, torch's
    internal op registries, introspection of the process (how a submission would reach the grader's agent)."""
    top_level_classes: list[str] = field(default_factory=list)


def cap_text(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote_line(text: str, offset: int | None = None) -> str:
    """A capped quote of one source line; when the line is long, the part around ``offset`` (1-based) is kept."""
    text = text.rstrip("\r\n")
    if len(text) <= MAX_QUOTE_CHARS:
        return text.strip()
    if offset is None or offset <= MAX_QUOTE_CHARS - 50:
        return cap_text(text.strip())
    start = max(0, offset - (MAX_QUOTE_CHARS - 50))
    window = text[start : start + MAX_QUOTE_CHARS - 2]
    return "…" + window + ("…" if start + len(window) < len(text) else "")


def _line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def decode_source(data: bytes) -> str:
    """The text Python reads from a source file's bytes; raises :class:`SourceRefused` where it should not be graded.

    The encoding is found the way Python finds it (a UTF-8 BOM, or a coding cookie on the first or second line);
    only UTF-8, ASCII and Latin-1 are accepted, and the bytes must decode strictly.
    """
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceRefused(f"the file is {len(data)} bytes; at most {MAX_SOURCE_BYTES} bytes are accepted", 1)
    try:
        declared, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown codec, or a cookie that contradicts the BOM
        raise SourceRefused(f"the file's encoding declaration is invalid ({cap_text(str(exc), 120)})", 1) from exc
    try:
        encoding = codecs.lookup(declared).name
    except LookupError as exc:
        raise SourceRefused(f"the file declares an unknown encoding {cap_text(declared, 60)!r}", 1) from exc
    if encoding not in ACCEPTED_ENCODINGS:
        raise SourceRefused(
            f"the file declares the source encoding {cap_text(declared, 60)!r}; only UTF-8 (or ASCII, "
            "Latin-1) source is accepted: remove the coding line and save the file as UTF-8",
            1,
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceRefused(
            f"the file is not valid {declared} (byte 0x{data[exc.start]:02x}); save it as UTF-8",
            _line_of(data, exc.start),
        ) from exc
    if "\0" in text:
        raise SourceRefused("the file contains a null byte", _line_of(data, data.index(b"\0")))
    return text


# One alternative per kind of token that matters for the estimate: comments cost nothing, a string literal costs one
# token (an f-string also one per replacement field), a name or number one, any other character one. The string
# alternatives cannot backtrack catastrophically: each character matches exactly one branch.
_TOKEN_ESTIMATE = re.compile(
    r"""(?P<comment>\#[^\r\n]*)
      | (?P<string>(?P<prefix>[rRbBuUfF]{0,2})
          (?:'''(?:[^'\\]|\\.|'(?!''))*(?:'''|\Z) | \"\"\"(?:[^"\\]|\\.|"(?!""))*(?:\"\"\"|\Z)
           | '(?:[^'\\\r\n]|\\.)*' | "(?:[^"\\\r\n]|\\.)*"))
      | \w+ | \S""",
    re.VERBOSE | re.DOTALL,
)


def _check_parser_work(text: str) -> None:
    """Refuse sources whose parse would cost the host more than any real answer needs (bounded: stops early)."""
    tokens = 0
    for match in _TOKEN_ESTIMATE.finditer(text):
        if match.group("comment") is not None:
            continue
        tokens += 1
        if match.group("string") is not None and "f" in match.group("prefix").lower():
            # Python 3.11 parses each replacement field with a parser of its own: far dearer than a token.
            tokens += F_STRING_FIELD_COST * match.group("string").count("{")
        if tokens > MAX_TOKENS:
            raise SourceRefused(
                f"the file has more than {MAX_TOKENS} tokens, far more than this task needs",
                text.count("\n", 0, match.start()) + 1,
            )


def _source_lines(text: str) -> list[str]:
    # Only the line breaks Python's tokenizer knows: str.splitlines() also breaks at form feeds and other separators,
    # which would shift line numbers and make a finding quote the wrong line.
    return re.split(r"\r\n|\r|\n", text)


def _parse_failure(exc: BaseException, text: str) -> dict[str, Any]:
    """A syntax-error finding for anything the parser raised."""
    if isinstance(exc, SyntaxError):
        return {
            "message": cap_text(str(exc.msg), MAX_MESSAGE_CHARS),
            "line": exc.lineno,
            "offset": exc.offset,
            "code": _quote_line(exc.text or "", exc.offset),
        }
    if isinstance(exc, (RecursionError, MemoryError)):
        message = "the code is nested too deeply (or is too complex) for Python's parser"
    else:
        message = f"Python cannot parse the file ({type(exc).__name__}: {cap_text(str(exc), 200)})"
    # The parser does not say where; code nested that deeply is almost always one long generated line.
    lines = _source_lines(text)
    longest = max(range(len(lines)), key=lambda index: len(lines[index])) if lines else 0
    return {"message": message, "line": longest + 1, "offset": None, "code": ""}


def analyse_source(source: str | bytes, filename: str, banned_callables: list[str]) -> StaticFindings:
    """Parse the source and look for uses of the banned callables (by their final name, aliases included).

    ``source`` is best given as the file's bytes (text is taken as the file saved in UTF-8): they are decoded and
    parsed exactly as Python will when it imports the file, so a coding cookie cannot show this scan other code.
    A file that cannot be read or parsed gives a ``syntax_error`` finding; nothing here raises for it.
    """
    data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
    findings = StaticFindings()
    try:
        text = decode_source(data)
        _check_parser_work(text)
    except SourceRefused as exc:
        findings.syntax_error = {
            "message": cap_text(exc.message, MAX_MESSAGE_CHARS),
            "line": exc.line,
            "offset": None,
            "code": "",
        }
        return findings
    try:
        # The bytes go to the parser as they are, so that it applies Python's own decoding: what is scanned is what
        # the import in the sandbox will compile, whatever this module's reading of the encoding rules.
        tree = ast.parse(data, filename=filename)
    except Exception as exc:  # noqa: BLE001 - every parser failure is the candidate's compile error
        findings.syntax_error = _parse_failure(exc, text)
        return findings
    try:
        scan = _Scan(tree, _source_lines(text), banned_callables)
        findings.banned_uses = sorted(scan.banned_uses(), key=lambda use: use["line"] or 0)
        findings.unverifiable = scan.unverifiable_uses()
    except RecursionError:  # a construct nested more deeply than this scan follows: it cannot vouch for the file
        findings.syntax_error = _parse_failure(RecursionError(), text)
        return findings
    findings.top_level_classes = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    return findings


_DYNAMIC_BUILTINS = {"eval", "exec", "compile", "__import__", "breakpoint"}
_INTROSPECTION = {
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "sys._getframe",
    "inspect.stack",
    "inspect.currentframe",
    "inspect.getouterframes",
    "inspect.trace",
    "ctypes.cast",
    "inspect.getclosurevars",
    "inspect.unwrap",
    "sys.settrace",
    "sys.setprofile",
}
_CODE_LOADERS = {
    "importlib.reload",
    "importlib.util",
    "importlib.machinery",
    "importlib.abc",
    "runpy",
    "types.CodeType",
    "types.FunctionType",
    "types.ModuleType",
    "types.MethodType",
    "marshal",
    "pickle",
    "functools.partial",
}
_LOOKUPS = {"operator.attrgetter", "operator.methodcaller", "operator.itemgetter"}
_DYNAMIC_PATHS = {f"builtins.{name}" for name in ("eval", "exec", "compile", "__import__", "getattr", "vars")}
_INTERNALS = ("torch._C", "torch.ops", "torch._ops", "torch.library", "torch._library")
_REACHING_ATTRIBUTES = {
    "__wrapped__",
    "__closure__",
    "cell_contents",
    "__globals__",
    "__code__",
    "__self__",
    "__func__",
    "__dict__",
    "__subclasses__",
    "__builtins__",
    "__getattribute__",
    "__defaults__",
    "__kwdefaults__",
    "f_globals",
    "f_locals",
    "f_back",
    "gi_frame",
    "tb_frame",
}
"""Attributes that reach around a function to what it holds: the original behind a wrapper, a module's namespace."""
_FOLD_DEPTH = 40
_RESOLVE_DEPTH = 8
_FOLD_LENGTH = 1000
_DOTTED_NAME = re.compile(r"[A-Za-z_][\w.]*")


def _words(name: str) -> list[str]:
    """The lower-case words of a name, split at underscores and at a lower-to-upper case change.

    ``scaled_dot_product_attention`` -> scaled, dot, product, attention; ``MultiheadAttention`` -> multihead, attention.
    """
    marked = "".join(
        "_" + char if char.isupper() and index and name[index - 1].islower() else char
        for index, char in enumerate(name)
    )
    return [word.lower() for word in marked.split("_") if word]


def kin_word(banned_name: str) -> str:
    """The word naming what a banned callable computes (its longest word, the last on a tie): ``attention``.

    Torch's private kernels behind a banned callable carry it (``torch._scaled_dot_product_attention_math``,
    ``torch._native_multi_head_attention``), so a private torch name containing it is banned as well.
    """
    words = _words(banned_name)
    return max(reversed(words), key=len) if words else banned_name.lower()


_PERCENT_FIELD = re.compile(r"%s")
_FORMAT_FIELD = re.compile(r"\{\d?\}|\{\{|\}\}")
_STR_METHODS = {
    "lower",
    "upper",
    "strip",
    "lstrip",
    "rstrip",
    "title",
    "casefold",
    "swapcase",
    "replace",
    "removeprefix",
    "removesuffix",
}


_NOT_AN_INTEGER = object()


def _integer(node: ast.AST | None) -> Any:
    """The value of a slice bound: None when absent, an int for ``3`` or ``-1``, else ``_NOT_AN_INTEGER``."""
    if node is None:
        return None
    negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    operand = node.operand if isinstance(node, ast.UnaryOp) and negative else node
    if isinstance(operand, ast.Constant) and type(operand.value) is int:
        return -operand.value if negative else operand.value
    return _NOT_AN_INTEGER


class _StringFolder:
    """Folds string expressions built only from constants to their value; None when they depend on anything else.

    Understood: ``"scaled_" + "dot"``, ``"".join([...])``, f-strings, ``%``/``.format`` with plain fields, ``* n``,
    slicing and a few pure ``str`` methods. Results are cached per node and recursion is bounded, so a whole file
    folds in linear time.
    """

    def __init__(self) -> None:
        self._cache: dict[int, str | None] = {}

    def fold(self, node: ast.AST | None, depth: int = 0) -> str | None:
        """The constant string ``node`` evaluates to, or None."""
        if node is None or depth > _FOLD_DEPTH:
            return None
        key = id(node)
        if key not in self._cache:
            value = self._fold(node, depth)
            self._cache[key] = value if isinstance(value, str) and len(value) <= _FOLD_LENGTH else None
        return self._cache[key]

    def _fold(self, node: ast.AST, depth: int) -> str | None:
        fold = self.fold
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.JoinedStr):
            parts = [fold(part, depth + 1) for part in node.values]
            return None if any(part is None for part in parts) else "".join(parts)  # type: ignore[arg-type]
        if isinstance(node, ast.FormattedValue):
            return fold(node.value, depth + 1) if node.format_spec is None and node.conversion in (-1, 115) else None
        if isinstance(node, ast.BinOp):
            left = fold(node.left, depth + 1)
            if left is None:
                return None
            if isinstance(node.op, ast.Add):
                right = fold(node.right, depth + 1)
                return left + right if right is not None else None
            if (
                isinstance(node.op, ast.Mult)
                and isinstance(node.right, ast.Constant)
                and type(node.right.value) is int
                and 0 <= len(left) * node.right.value <= _FOLD_LENGTH
            ):
                return left * node.right.value
            if isinstance(node.op, ast.Mod) and "%" not in _PERCENT_FIELD.sub("", left):
                items = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
                args = [fold(item, depth + 1) for item in items]
                if all(arg is not None for arg in args) and len(args) == left.count("%s"):
                    return left % tuple(args)
            return None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            text = fold(node.value, depth + 1)
            bounds = [_integer(node.slice.lower), _integer(node.slice.upper), _integer(node.slice.step)]
            if text is None or any(b is _NOT_AN_INTEGER for b in bounds):
                return None
            return text[slice(*bounds)] if bounds[2] != 0 else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.keywords:
            return self._fold_method(node, depth)
        return None

    def _fold_method(self, node: ast.Call, depth: int) -> str | None:
        assert isinstance(node.func, ast.Attribute)
        method, receiver = node.func.attr, self.fold(node.func.value, depth + 1)
        if receiver is None:
            return None
        if method == "join" and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple)):
            parts = [self.fold(item, depth + 1) for item in node.args[0].elts]
            return None if any(part is None for part in parts) else receiver.join(parts)  # type: ignore[arg-type]
        args = [self.fold(arg, depth + 1) for arg in node.args]
        if any(arg is None for arg in args) or len(args) > 2:
            return None
        try:
            if method in _STR_METHODS:
                return str(getattr(receiver, method)(*args))
            if method == "format" and not re.search(r"[{}]", _FORMAT_FIELD.sub("", receiver)):
                return receiver.format(*args)
        except (TypeError, IndexError, KeyError, ValueError):
            return None
        return None


def _namespace_owner(namespace: ast.AST) -> ast.AST:
    """X, for ``X.__dict__`` or ``vars(X)``."""
    if isinstance(namespace, ast.Attribute):
        return namespace.value
    assert isinstance(namespace, ast.Call)
    return namespace.args[0]


class _Scan:
    """One pass of reference resolution over a parsed file: import and assignment aliases of torch's modules."""

    def __init__(self, tree: ast.AST, lines: list[str], banned_callables: list[str]) -> None:
        self.tree = tree
        self.lines = lines
        self.nodes = list(ast.walk(tree))
        self.banned_names = {path.rsplit(".", 1)[-1]: path for path in banned_callables}
        self.fold = _StringFolder().fold
        self.own_names = {"self", "cls"} | {
            node.name for node in self.nodes if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self.aliases = self._aliases()

    # ------------------------------------------------------------------------------------------------- resolution

    def _aliases(self) -> dict[str, str]:
        """Local name (or ``self.attr``) -> dotted path, for imports and for assignments of torch references."""
        aliases: dict[str, str] = {}
        for node in self.nodes:
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
        self.aliases = aliases
        pairs: list[tuple[ast.AST, ast.AST]] = []
        for node in self.nodes:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    pairs.extend(self._assigned(target, node.value))
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                pairs.extend(self._assigned(node.target, node.value))
        for _ in range(4):  # chains of assignments (a = torch; b = a.nn) settle in a few rounds
            changed = False
            for assigned, value in pairs:
                key, path = self._key(assigned), self.resolve(value)
                if key is not None and path is not None and path.split(".")[0] == "torch" and aliases.get(key) != path:
                    aliases[key] = path
                    changed = True
            if not changed:
                break
        return aliases

    @staticmethod
    def _assigned(target: ast.AST, value: ast.AST) -> list[tuple[ast.AST, ast.AST]]:
        if (
            isinstance(target, (ast.Tuple, ast.List))
            and isinstance(value, (ast.Tuple, ast.List))
            and len(target.elts) == len(value.elts)
        ):
            return list(zip(target.elts, value.elts, strict=True))
        return [(target, value)]

    @staticmethod
    def _key(node: ast.AST) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None

    def resolve(self, node: ast.AST, depth: int = 0) -> str | None:
        """The dotted path an expression refers to, if it starts from an import or an alias of one.

        Understood: ``F.scaled_dot_product_attention``, ``getattr(torch, "nn")``, ``vars(F)["name"]``,
        ``F.__dict__["name"]``, ``importlib.import_module("torch")``, ``__import__("torch")``.
        """
        if depth > _RESOLVE_DEPTH:
            return None
        parts: list[str] = []
        for _ in range(200):
            if isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            elif (
                isinstance(node, ast.Call)
                and self._call_name(node) == "getattr"
                and len(node.args) >= 2
                and (name := self.fold(node.args[1])) is not None
            ):
                parts.extend(reversed(name.split(".")))
                node = node.args[0]
            elif (
                isinstance(node, ast.Subscript)
                and (name := self.fold(node.slice)) is not None
                and self._is_namespace(node.value)
            ):
                parts.append(name)
                node = _namespace_owner(node.value)
            else:
                break
        base = None
        if isinstance(node, ast.Name):
            for size in range(len(parts), -1, -1):
                key = ".".join([node.id, *reversed(parts)][: size + 1])
                if key in self.aliases:
                    rest = list(reversed(parts))[size:]
                    return ".".join([self.aliases[key], *rest])
            return None
        if (
            isinstance(node, ast.Call)
            and node.args
            and (module := self.fold(node.args[0])) is not None
            and (
                self._call_name(node) == "__import__"
                or self.resolve(node.func, depth + 1) in ("importlib.import_module", "importlib.__import__")
            )
        ):
            base = module if self._call_name(node) != "__import__" else module.split(".")[0]
        elif isinstance(node, ast.Subscript) and self.resolve(node.value, depth + 1) == "sys.modules":
            base = self.fold(node.slice)  # sys.modules["torch.nn.functional"]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and self.resolve(node.func.value, depth + 1) == "sys.modules"
        ):
            base = self.fold(node.args[0])  # sys.modules.get("torch")
        if base is None:
            return None
        return ".".join([base, *reversed(parts)])

    def _is_namespace(self, node: ast.AST) -> bool:
        """``X.__dict__`` or ``vars(X)``: a subscript of it is an attribute lookup of X."""
        if isinstance(node, ast.Attribute) and node.attr == "__dict__":
            return True
        return isinstance(node, ast.Call) and self._call_name(node) == "vars" and len(node.args) == 1

    def _call_name(self, node: ast.Call) -> str | None:
        if isinstance(node.func, ast.Name) and node.func.id not in self.aliases:
            return node.func.id
        if (
            isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("builtins", "__builtins__")
        ):
            return node.func.attr
        return None

    # --------------------------------------------------------------------------------------------------- findings

    def _quote(self, node: ast.AST) -> str:
        """The node's line, capped; on a long line the part where the node starts."""
        line, column = getattr(node, "lineno", None), getattr(node, "col_offset", None)
        if not line or line > len(self.lines):
            return ""
        return _quote_line(self.lines[line - 1], None if column is None else column + 1)

    def _banned_by_name(self, name: str, in_torch: bool) -> str | None:
        """The banned callable ``name`` refers to: its own name, or (inside torch) a private kernel of its kind."""
        if name in self.banned_names:
            return self.banned_names[name]
        if in_torch and name.startswith("_"):
            # Of the banned callables whose kin word the name holds, the one sharing most words with it
            # (``_native_multi_head_attention`` is kin of ``multi_head_attention_forward``).
            words = set(_words(name))
            candidates = [banned for banned in self.banned_names if kin_word(banned) in name.lower()]
            if candidates:
                closest = max(candidates, key=lambda banned: len(words & set(_words(banned))))
                return self.banned_names[closest]
        return None

    def _banned_in_string(self, text: str) -> str | None:
        """A string that names a banned callable: ``"scaled_dot_product_attention"``, ``"nn.MultiheadAttention"``."""
        if not _DOTTED_NAME.fullmatch(text):
            return None
        parts = text.split(".")
        # A private name alone ("_attention_weights") is too common to be taken for one of torch's kernels.
        return self._banned_by_name(parts[-1], in_torch=parts[0] == "torch")

    def banned_uses(self) -> list[dict[str, Any]]:
        """References to a banned callable, and strings (constant or built from constants) that name one.

        References through torch's modules: any import alias, assigned alias, re-export, ``getattr``, ``__dict__``
        or ``vars`` lookup.
        """
        uses: dict[tuple[str, int | None], dict[str, Any]] = {}

        def add(node: ast.AST, callable_path: str) -> None:
            line = getattr(node, "lineno", None)
            uses.setdefault((callable_path, line), {"callable": callable_path, "line": line, "code": self._quote(node)})

        for node in self.nodes:
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    found = self._banned_by_name(alias.name, node.module.split(".")[0] == "torch")
                    if found and node.module.split(".")[0] == "torch":
                        add(node, found)
                continue
            if isinstance(node, (ast.Attribute, ast.Name, ast.Call, ast.Subscript)):
                path = self.resolve(node)
                if path is not None and path.split(".")[0] == "torch":
                    found = self._banned_by_name(path.rsplit(".", 1)[-1], in_torch=True)
                    if found:
                        add(node, found)
                elif isinstance(node, ast.Attribute) and (found := self._banned_on_unknown_object(node)):
                    add(node, found)
            if isinstance(node, (ast.Constant, ast.JoinedStr, ast.BinOp, ast.Call, ast.Subscript)):
                text = self.fold(node)
                if text is not None and (found := self._banned_in_string(text)):
                    add(node, found)
        return list(uses.values())

    def _is_own_object(self, node: ast.AST) -> bool:
        """``self``, ``cls``, ``super()``, the file's own classes, functions and their instances, and chains of them."""
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        if isinstance(node, ast.Name):
            return node.id in self.own_names
        own = self.own_names | {"super"}
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in own

    def _banned_on_unknown_object(self, node: ast.Attribute) -> str | None:
        """A banned name taken from an object the scan cannot trace (a module fetched at run time, a parameter).

        The candidate's own objects are exempt: ``self``/``cls``, ``super()`` and the file's own classes and
        functions may well have a method of that name.
        """
        name = node.attr
        found = self.banned_names.get(name)
        if found is None and name.startswith("_"):
            found = next((path for banned, path in self.banned_names.items() if banned in name), None)
        if found is None:
            return None
        return None if self._is_own_object(node.value) else found

    def unverifiable_uses(self) -> list[dict[str, Any]]:
        """Constructs that hide which functions are called."""
        found: dict[tuple[str, int | None], dict[str, Any]] = {}

        def note(node: ast.AST, reason: str) -> None:
            line = getattr(node, "lineno", None)
            found.setdefault((reason, line), {"reason": reason, "line": line, "code": self._quote(node)})

        for node in self.nodes:
            if isinstance(node, ast.Call):
                self._unverifiable_call(node, note)
            if (
                isinstance(node, ast.Subscript)
                and self.resolve(node.value) == "sys.modules"
                and self.fold(node.slice) is None
            ):
                note(node, "looks up a module by a name computed at run time")
            if (
                isinstance(node, ast.Name)
                and node.id in _DYNAMIC_BUILTINS
                and node.id not in self.aliases
                and isinstance(node.ctx, ast.Load)
            ):
                note(node, f"{node.id}() runs code that cannot be checked")
            if isinstance(node, ast.Attribute) and node.attr in _REACHING_ATTRIBUTES:
                note(node, f"{node.attr} reaches inside a function or module")
            if isinstance(node, (ast.Constant, ast.JoinedStr, ast.BinOp)):
                text = self.fold(node)
                if text in _REACHING_ATTRIBUTES or text in ("eval", "exec", "__import__"):
                    note(node, f"the string {text!r} names a way to reach inside a function or module")
            if isinstance(node, (ast.Attribute, ast.Name, ast.Call, ast.ImportFrom, ast.Import)):
                for path in self._paths_of(node):
                    self._unverifiable_path(node, path, note)
        return sorted(found.values(), key=lambda use: use["line"] or 0)

    def _paths_of(self, node: ast.AST) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        if isinstance(node, ast.ImportFrom):
            return [f"{node.module}.{alias.name}" for alias in node.names] if node.module and not node.level else []
        path = self.resolve(node)
        return [path] if path else []

    def _unverifiable_path(self, node: ast.AST, path: str, note: Any) -> None:
        def under(prefixes: Any) -> bool:
            return any(path == prefix or path.startswith(prefix + ".") for prefix in prefixes)

        if path in _INTROSPECTION or path.startswith(("inspect.", "gc.")):
            note(node, f"{path} inspects the running process")
        elif path in _DYNAMIC_PATHS:
            note(node, f"{path} runs code that cannot be checked")
        elif under(_LOOKUPS):
            note(node, f"{path} looks up attributes by name at run time")
        elif under(_CODE_LOADERS):
            note(node, f"{path} loads or builds code at run time")
        elif under(_INTERNALS) and (path.count(".") == 1 or isinstance(node, (ast.Call, ast.Import, ast.ImportFrom))):
            note(node, f"{path} reaches torch's internal operator registry")

    def _unverifiable_call(self, node: ast.Call, note: Any) -> None:
        name = self._call_name(node)
        target = self.resolve(node.func)
        if target in ("importlib.import_module", "importlib.__import__") or name == "__import__":
            if not (node.args and self.fold(node.args[0]) is not None):
                note(node, "imports a module chosen at run time")
        elif name in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) >= 2:
            owner = self.resolve(node.args[0])
            if self.fold(node.args[1]) is not None or name != "getattr":
                pass
            elif owner is not None and owner.split(".")[0] == "torch":
                note(node, "looks up a torch function by a name computed at run time")
            elif owner is None and not self._is_own_object(node.args[0]):
                # An object the scan cannot trace may be torch itself (fetched through sys.modules, say); the
                # candidate's own objects (getattr(self, f"head_{i}")) are fine.
                note(node, "looks up an attribute by a name computed at run time")
        elif name in ("vars", "globals", "locals", "dir") and node.args:
            owner = self.resolve(node.args[0])
            if owner is not None and owner.split(".")[0] == "torch":
                note(node, f"{name}() looks into a torch namespace")
        elif isinstance(node.func, ast.Attribute) and node.func.attr in ("__getattribute__", "__getattr__"):
            note(node, "looks up an attribute by a name computed at run time")
        elif (
            isinstance(node.func, ast.Subscript)
            and self._is_namespace(node.func.value)
            and self.fold(node.func.slice) is None
        ):
            namespace = self.resolve(_namespace_owner(node.func.value))
            if namespace is not None and namespace.split(".")[0] == "torch":
                note(node, "calls a torch function looked up by a name computed at run time")
