"""A Python source as the token stream that similarity is measured on: what survives renaming and reformatting.

The stream keeps what a copier has to keep for the program to stay the same program: keywords, operators, and the
names of the API it calls (``torch``, ``softmax``, ``.transpose``, ``dim=``). It drops or flattens what can be
changed without changing the program:

- comments, docstrings (a string that is a statement by itself), blank lines, and every layout token: NEWLINE,
  NL, INDENT and DEDENT. Indentation is not kept: ``if x: return y`` and the same on two lines are one program, and
  block structure is already spelt by the ``:`` and the keywords around it. A ``;`` between statements and a
  trailing comma before a closing bracket (which formatters add and remove) are dropped for the same reason.
- every name the file itself defines (variables, parameters, functions, classes, ``as`` aliases, and attributes it
  assigns such as ``self.q_proj``) becomes the one placeholder ``ID``, so renaming gains nothing. Dunder names
  (``__init__``) are protocol, not a choice, and stay. Keyword-argument names in a call (``dim=-1``) stay: in
  this domain they are nearly always the API's (``dim``, ``keepdim``, ``bias``).
- type annotations (of parameters, return values and variables: ``x: Tensor``, ``-> Tensor``, ``q: Tensor = ...``)
  are dropped with their ``:`` or ``->``, and an annotation that assigns nothing (``seq: int``) goes whole: Python
  does not run them, and adding them is a copier's cheapest disguise.
- numbers become ``NUM`` and strings ``STR`` (adjacent strings, which concatenate, become one ``STR``; an f-string
  is one ``STR`` on every Python version, though 3.12 tokenizes its inside).

Each token keeps its source line so that matched k-grams map back to lines. A file that does not tokenize or parse
(a syntax error) still gives the tokens before the error, and the error is reported, never raised.
"""

from __future__ import annotations

import ast
import bisect
import io
import itertools
import keyword
import re
import token as token_types
import tokenize
from dataclasses import dataclass, field

IDENTIFIER = "ID"
"""The placeholder of every name the file defines."""
NUMBER = "NUM"
"""The placeholder of every number literal."""
STRING = "STR"
"""The placeholder of every string literal (f-strings included)."""

_LAYOUT = frozenset({tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT,
                     tokenize.ENCODING, tokenize.ENDMARKER})
_STATEMENT_START = frozenset({tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING})
_FSTRING_START = getattr(token_types, "FSTRING_START", None)  # Python 3.12+
_FSTRING_END = getattr(token_types, "FSTRING_END", None)
_CLOSING = frozenset({")", "]", "}"})
_OPENING = frozenset({"(", "[", "{"})


@dataclass(frozen=True)
class Token:
    """One normalised token and the source line it starts on."""

    text: str
    line: int


@dataclass
class TokenStream:
    """A file's normalised tokens, and why tokenizing or parsing stopped short, if it did."""

    tokens: list[Token] = field(default_factory=list)
    error: str | None = None
    """E.g. ``"line 12: unexpected EOF in multi-line statement"``; the tokens before it are kept."""


@dataclass(frozen=True)
class _Raw:
    kind: int
    text: str
    line: int
    column: int
    """In characters, as tokenize counts them."""


_Position = tuple[int, int]
"""(line, column in characters) of a token or of a syntax node's end."""


def normalised_tokens(source: str) -> TokenStream:
    """The normalised token stream of ``source`` (see the module's docstring); never raises on bad Python."""
    raw, error = _raw_tokens(source)
    tree, parse_error = _parsed(source)
    defined = _defined_by_tree(tree) if tree is not None else _defined_by_tokens(raw)
    annotations = _annotation_spans(tree, re.split(r"\r\n|\r|\n", source)) if tree is not None else []
    return TokenStream(_normalise(raw, defined, annotations), error or parse_error)


def _raw_tokens(source: str) -> tuple[list[_Raw], str | None]:
    raw: list[_Raw] = []
    fstring_depth = 0
    try:
        for item in tokenize.generate_tokens(io.StringIO(source).readline):
            if item.type == _FSTRING_START:
                fstring_depth += 1
                if fstring_depth == 1:
                    raw.append(_Raw(tokenize.STRING, item.string, *item.start))
            elif item.type == _FSTRING_END:
                fstring_depth -= 1
            elif fstring_depth == 0:
                raw.append(_Raw(item.type, item.string, *item.start))
    except (tokenize.TokenError, SyntaxError) as exc:  # IndentationError is a SyntaxError
        return raw, _describe(exc)
    return raw, None


def _describe(exc: Exception) -> str:
    if isinstance(exc, SyntaxError):
        return f"line {exc.lineno}: {exc.msg}"
    message, position = (exc.args + ("", None))[:2]
    line = position[0] if isinstance(position, tuple) else "?"
    return f"line {line}: {message}"


def _parsed(source: str) -> tuple[ast.AST | None, str | None]:
    """The syntax tree, or None and why not (the names are then guessed from the tokens)."""
    try:
        return ast.parse(source), None
    except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte in the source
        return None, f"does not parse ({_describe(exc)}); names guessed from the tokens"


def _annotation_spans(tree: ast.AST, lines: list[str]) -> list[tuple[_Position, _Position, bool]]:
    """Where the file's type annotations are: (start, end exclusive, introduced) in tokenize's coordinates.

    ``introduced``: the annotation follows a ``:`` or ``->`` that goes with it. A variable annotation that assigns
    nothing spans its whole statement, and is not introduced.
    """
    spans: list[tuple[ast.AST, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            spans.append((node.annotation, True))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            spans.append((node.returns, True))
        elif isinstance(node, ast.AnnAssign):
            spans.append((node, False) if node.value is None else (node.annotation, True))
    return sorted((_position(lines, node.lineno, node.col_offset),
                   _position(lines, node.end_lineno, node.end_col_offset), introduced)
                  for node, introduced in spans
                  if isinstance(node, (ast.expr, ast.stmt)) and node.end_lineno is not None
                  and node.end_col_offset is not None)


def _position(lines: list[str], line: int, byte_offset: int) -> _Position:
    """The place ``ast`` gives in UTF-8 bytes, in the characters that tokenize counts."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return line, len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def _defined_by_tree(tree: ast.AST) -> tuple[set[str], set[str]]:
    names: set[str] = set()
    attributes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            attributes.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias) and node.asname:
            names.add(node.asname)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
    return names, attributes


def _defined_by_tokens(raw: list[_Raw]) -> tuple[set[str], set[str]]:
    """A guess for a file that does not parse: names after def/class/as/for, before ``=``, and in def's brackets."""
    names: set[str] = set()
    attributes: set[str] = set()
    code = [item for item in raw if item.kind not in _LAYOUT]
    depth = 0
    for index, item in enumerate(code):
        before = code[index - 1].text if index else ""
        after = code[index + 1].text if index + 1 < len(code) else ""
        depth += (item.text in _OPENING) - (item.text in _CLOSING)
        if item.kind != tokenize.NAME or keyword.iskeyword(item.text):
            continue
        if before in ("def", "class", "as", "for", "global", "nonlocal", "lambda") or after == ":=":
            names.add(item.text)
        elif after in ("=", "+=", "-=", "*=", "/=", ",") and depth == 0 and before != ".":
            names.add(item.text)
        elif after == "=" and before == ".":
            attributes.add(item.text)
    names.update(code[index].text for index in _parameter_positions(code)
                 if code[index].kind == tokenize.NAME and code[index - 1].text in ("(", ",", "*", "**", "lambda"))
    return names, attributes


def _normalise(raw: list[_Raw], defined: tuple[set[str], set[str]],
               annotations: list[tuple[_Position, _Position, bool]]) -> list[Token]:
    names, attributes = defined
    code = _without_annotations(_without_docstrings(raw), annotations)
    parameters = _parameter_positions(code)
    out: list[Token] = []
    for index, item in enumerate(code):
        before = code[index - 1].text if index else ""
        after = code[index + 1].text if index + 1 < len(code) else ""
        keyword_argument = after == "=" and before in ("(", ",") and index not in parameters
        text = _normalised_text(item, before, after, names, attributes, keyword_argument)
        if text is None:
            continue
        if text == STRING and out and out[-1].text == STRING:
            continue  # "a" "b" is one string, however a formatter split it
        out.append(Token(text, item.line))
    return out


def _normalised_text(item: _Raw, before: str, after: str, names: set[str], attributes: set[str],
                     keyword_argument: bool) -> str | None:
    if item.kind == tokenize.NUMBER:
        return NUMBER
    if item.kind == tokenize.STRING:
        return STRING
    if item.kind == tokenize.OP:
        if item.text == ";" or (item.text == "," and after in _CLOSING):
            return None
        return item.text
    if item.kind != tokenize.NAME:
        return item.text  # an ERRORTOKEN (a stray "$" or "?"), kept as written
    if keyword.iskeyword(item.text) or (item.text.startswith("__") and item.text.endswith("__")):
        return item.text
    if before == ".":
        return IDENTIFIER if item.text in attributes else item.text
    if keyword_argument:
        return item.text
    return IDENTIFIER if item.text in names else item.text


def _without_annotations(code: list[_Raw], spans: list[tuple[_Position, _Position, bool]]) -> list[_Raw]:
    """The tokens without those inside an annotation, nor the ``:`` or ``->`` that introduces one."""
    if not spans:
        return code
    starts = [start for start, _, _ in spans]
    reach = list(itertools.accumulate((end for _, end, _ in spans), max))  # spans may nest: the furthest end so far
    introduced = {start for start, _, introduces in spans if introduces}
    inside = [False] * len(code)
    for index, item in enumerate(code):
        at = bisect.bisect_right(starts, (item.line, item.column)) - 1
        inside[index] = at >= 0 and (item.line, item.column) < reach[at]
    kept = []
    for index, item in enumerate(code):
        following = code[index + 1] if index + 1 < len(code) else None
        introduces = (item.text in (":", "->") and following is not None
                      and (following.line, following.column) in introduced)
        if not inside[index] and not introduces:
            kept.append(item)
    return kept


def _parameter_positions(code: list[_Raw]) -> set[int]:
    """Indices of the tokens inside a def's brackets or between ``lambda`` and its ``:``.

    There ``name=`` is a parameter with a default rather than a keyword argument.
    """
    positions: set[int] = set()
    for index, item in enumerate(code):
        if item.text == "def" and index + 2 < len(code) and code[index + 2].text == "(":
            end, depth = index + 2, 0
            while end < len(code):
                depth += (code[end].text in _OPENING) - (code[end].text in _CLOSING)
                if depth == 0:
                    break
                end += 1
            positions.update(range(index + 3, end))
        elif item.text == "lambda":
            end = index + 1
            while end < len(code) and code[end].text != ":":
                end += 1
            positions.update(range(index + 1, end))
    return positions


def _without_docstrings(raw: list[_Raw]) -> list[_Raw]:
    """The tokens without layout, and without any string that is a statement by itself (docstrings)."""
    kept: list[_Raw] = []
    index = 0
    while index < len(raw):
        item = raw[index]
        if item.kind == tokenize.STRING and _starts_statement(raw, index):
            end = index
            while end + 1 < len(raw) and raw[end + 1].kind in (tokenize.STRING, tokenize.NL, tokenize.COMMENT):
                end += 1
            if end + 1 >= len(raw) or raw[end + 1].kind in (tokenize.NEWLINE, tokenize.ENDMARKER) \
                    or raw[end + 1].text == ";":
                index = end + 1
                continue
        if item.kind not in _LAYOUT:
            kept.append(item)
        index += 1
    return kept


def _starts_statement(raw: list[_Raw], index: int) -> bool:
    previous = index - 1
    while previous >= 0 and raw[previous].kind in (tokenize.COMMENT, tokenize.NL):
        previous -= 1
    return previous < 0 or raw[previous].kind in _STATEMENT_START or raw[previous].text == ";"
