"""The static scan against hostile sources: encodings that hide code, files the parser chokes on, padded lines.

Also the many spellings of a banned call. Every case here runs on the host only (nothing is executed).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from harness.engine.static import (
    MAX_QUOTE_CHARS,
    MAX_SOURCE_BYTES,
    SourceRefused,
    analyse_source,
    decode_source,
    kin_word,
)

BANNED = [
    "torch.nn.MultiheadAttention",
    "torch.nn.functional.multi_head_attention_forward",
    "torch.nn.functional.scaled_dot_product_attention",
]
SDPA = "torch.nn.functional.scaled_dot_product_attention"
CORPUS = Path(__file__).resolve().parents[1] / "submissions" / "mhsa"


def scan(source: str | bytes):
    return analyse_source(source, "submission.py", BANNED)


def banned_lines(source: str | bytes) -> list[int]:
    return sorted(use["line"] for use in scan(source).banned_uses)


# ------------------------------------------------------------------------------------------------------ encodings


def test_a_utf7_cookie_cannot_show_the_scan_other_code():
    # As UTF-8 this is a comment; Python, honouring the cookie, decodes "+AAo-" to a newline and runs the call.
    source = (
        b"# -*- coding: utf-7 -*-\nimport torch.nn.functional as F\n"
        b"# +AAo-F.scaled+AF8-dot+AF8-product+AF8-attention(q, k, v)\n"
    )
    findings = scan(source)
    assert findings.syntax_error is not None
    assert "utf-7" in findings.syntax_error["message"] and findings.syntax_error["line"] == 1


def test_text_is_scanned_as_the_file_saved_in_utf8_would_be():
    findings = scan("# coding: utf-7\nx = 1\n")
    assert findings.syntax_error is not None and "utf-7" in findings.syntax_error["message"]


@pytest.mark.parametrize("cookie", [b"cp1252", b"utf-16", b"shift_jis", b"rot13", b"no-such-codec"])
def test_exotic_or_unknown_encodings_are_refused(cookie):
    findings = scan(b"# -*- coding: " + cookie + b" -*-\nx = 1\n")
    assert findings.syntax_error is not None and findings.syntax_error["line"] == 1


def test_a_bom_is_read_as_python_reads_it():
    source = b"\xef\xbb\xbfimport torch.nn.functional as F\ny = F.scaled_dot_product_attention\n"
    assert scan(source).syntax_error is None
    assert banned_lines(source) == [2]


def test_latin1_is_accepted_and_decoded_by_its_cookie():
    source = b"# coding: latin-1\nname = 'caf\xe9'\n"
    assert scan(source).syntax_error is None
    assert decode_source(source).endswith("name = 'caf\xe9'\n")


def test_invalid_utf8_is_a_compile_error_at_its_line():
    findings = scan(b"x = 1\ny = 2\nz = '\xff'\n")
    assert findings.syntax_error is not None and findings.syntax_error["line"] == 3


def test_null_bytes_are_a_compile_error_at_their_line():
    findings = scan(b"x = 1\ny = 2\0\n")
    assert findings.syntax_error is not None
    assert findings.syntax_error["line"] == 2 and "null" in findings.syntax_error["message"]


def test_decode_source_refuses_a_huge_file_without_reading_it_as_code():
    with pytest.raises(SourceRefused, match="bytes"):
        decode_source(b"#" * (MAX_SOURCE_BYTES + 1))


def test_line_numbers_count_only_pythons_line_breaks():
    # str.splitlines() also breaks at \x0c and \x1c: the quote would then show the wrong line.
    source = "x = 1  # \x1c \x0c\nimport torch.nn.functional as F\nF.scaled_dot_product_attention\n"
    uses = scan(source).banned_uses
    assert [(use["line"], use["code"]) for use in uses] == [(3, "F.scaled_dot_product_attention")]


# ------------------------------------------------------------------------------------------- what the parser chokes on

NESTED = {
    "brackets": "x = " + "[" * 100_000 + "]" * 100_000,
    "parentheses_under_the_token_cap": "x = " + "(" * 20_000 + ")" * 20_000,
    "unary_minus": "x = " + "-" * 40_000 + "1",
    "not": "x = " + "not " * 40_000 + "1",
    "left_recursive_sum": "x = " + "1 + " * 20_000 + "1",
    "attribute_chain": "x = a" + ".b" * 20_000,
    "call_chain": "x = f" + "()" * 20_000,
    "lambdas": "x = " + "lambda: " * 15_000 + "1",
    "conditional_expressions": "x = " + "1 if c else " * 8_000 + "1",
    "power": "x = " + "2 ** " * 20_000 + "1",
    "dense_file": "x = [" + "a, " * 400_000 + "]\n",
    "many_statements": "x = 1\n" * 200_000,
    "f_string_fields": "x = f'" + "{a}" * 30_000 + "'\n",
}


@pytest.mark.parametrize("kind", sorted(NESTED))
def test_sources_the_parser_chokes_on_are_compile_errors_answered_quickly(kind):
    started = time.monotonic()
    findings = scan(NESTED[kind])  # must not raise (RecursionError, MemoryError, ...)
    assert time.monotonic() - started < 2.0
    assert findings.syntax_error is not None
    assert findings.syntax_error["message"] and isinstance(findings.syntax_error["line"], int)
    assert len(json.dumps(findings.syntax_error)) < 2 * (MAX_QUOTE_CHARS + 600)


def test_nesting_within_the_parsers_limits_still_parses():
    assert scan("x = " + "(" * 50 + "1" + ")" * 50 + "\n").syntax_error is None


# ------------------------------------------------------------------------------------------------- capped quotes


def test_a_padded_banned_line_is_quoted_capped_and_around_the_call():
    padding = "q" * 900_000
    source = f"import torch.nn.functional as F\ny = ({padding!r}, F.scaled_dot_product_attention(q, k, v))\n"
    uses = scan(source).banned_uses
    assert [use["line"] for use in uses] == [2]
    code = uses[0]["code"]
    assert len(code) <= MAX_QUOTE_CHARS and "scaled_dot_product_attention" in code and code.startswith("…")


def test_a_syntax_error_on_a_padded_line_is_quoted_capped():
    findings = scan("x = 1\ny = (" + "a" * 900_000 + " +\n")
    error = findings.syntax_error
    assert error is not None and error["line"] == 2
    assert len(error["code"]) <= MAX_QUOTE_CHARS and len(error["message"]) <= 500


def test_unverifiable_quotes_are_capped():
    source = "import gc\nx = gc.get_objects()  # " + "z" * 100_000 + "\n"
    hidden = scan(source).unverifiable
    assert hidden and all(len(use["code"]) <= MAX_QUOTE_CHARS for use in hidden)


# -------------------------------------------------------------------------------------- spellings of a banned call

SPELLINGS = {
    "module_dict": "import torch.nn.functional as F\nF.__dict__['scaled_dot_product_attention'](q, k, v)\n",
    "vars": "import torch.nn.functional as F\nvars(F)['scaled_dot_product_attention'](q, k, v)\n",
    "getattr_concatenated": "import torch\ngetattr(torch.nn.functional, 'scaled_' + 'dot_product_attention')\n",
    "getattr_reversed": "import torch\ngetattr(torch.nn.functional, 'noitnetta_tcudorp_tod_delacs'[::-1])\n",
    "getattr_joined": "import torch as t;getattr(t.nn.functional, '_'.join(['scaled', 'dot', 'product', 'attention']))",
    "getattr_formatted": "import torch\ngetattr(torch.nn.functional, '{}_attention'.format('scaled_dot_product'))\n",
    "getattr_percent": "import torch\ngetattr(torch.nn.functional, '%s_attention' % 'scaled_dot_product')\n",
    "getattr_f_string": "import torch\ngetattr(torch.nn.functional, f'scaled_{\"dot\"}_product_attention')\n",
    "attrgetter": "import operator\nget = operator.attrgetter('nn.functional.scaled_dot_product_attention')\n",
    "string_alone": "NAME = 'scaled_dot_product_attention'\n",
    "dotted_string": "NAME = 'torch.nn.MultiheadAttention'\n",
    "upper_cased_back": "NAME = 'SCALED_DOT_PRODUCT_ATTENTION'.lower()\n",
    "assigned_alias": "import torch\nm = torch.nn\nfn = m.functional\nfn.scaled_dot_product_attention(q)\n",
    "self_alias": "import torch.nn.functional as F\nclass A:\n    def f(self):\n        self.ops = F\n"
    "        return self.ops.scaled_dot_product_attention\n",
    "dunder_import": "F = __import__('torch').nn.functional\nF.multi_head_attention_forward\n",
    "import_module": "import importlib\nimportlib.import_module('torch.nn.functional').scaled_dot_product_attention\n",
    "c_alias": "import torch\ntorch._C._nn.scaled_dot_product_attention(q, k, v)\n",
    "private_kernel": "import torch\ntorch._scaled_dot_product_attention_math(q, k, v)\n",
    "private_kernel_getattr": "import torch\ngetattr(torch, '_scaled_dot_product_flash_attention_for_cpu')\n",
    "from_import_kernel": "from torch import _native_multi_head_attention\n",
    "sys_modules": "import sys\nm = sys.modules['torch']\nm.ops.aten.scaled_dot_product_attention(q, k, v)\n",
    "sys_modules_get": "import sys\nsys.modules.get('torch.nn.functional').multi_head_attention_forward\n",
    "untraceable_object": "def attend(module, q):\n    return module.scaled_dot_product_attention(q, q, q)\n",
}


@pytest.mark.parametrize("kind", sorted(SPELLINGS))
def test_every_spelling_of_a_banned_callable_is_a_banned_use(kind):
    assert scan(SPELLINGS[kind]).banned_uses, kind


def test_kin_are_attributed_to_the_closest_banned_callable():
    uses = scan("import torch\ntorch._native_multi_head_attention\ntorch._scaled_dot_product_flash_attention\n")
    assert [use["callable"] for use in uses.banned_uses] == [
        "torch.nn.functional.multi_head_attention_forward",
        SDPA,
    ]
    assert kin_word("scaled_dot_product_attention") == kin_word("MultiheadAttention") == "attention"


REACHING = {
    "wrapped": "def f(g):\n    return g.__wrapped__\n",
    "closure": "def f(g):\n    return g.__closure__[0].cell_contents\n",
    "globals": "def f(g):\n    return g.__globals__\n",
    "getattr_wrapped_by_name": "def f(g):\n    return getattr(g, '__wrap' + 'ped__')\n",
    "computed_dict_lookup": "import torch.nn.functional as F\nname = input()\nF.__dict__[name](q)\n",
    "computed_vars_lookup": "import torch.nn.functional as F\nname = input()\nvars(F)[name](q)\n",
    "attrgetter_computed": "import operator\nname = input()\noperator.attrgetter(name)\n",
    "reload": "import importlib\nimport torch.nn.functional as F\nimportlib.reload(F)\n",
    "ops_by_getattr": "import torch\ngetattr(torch, 'ops').aten\n",
    "builtins_eval": "import builtins\nbuiltins.eval('1')\n",
    "eval_as_a_value": "run = eval\n",
    "sys_modules_computed": "import sys\nname = input()\nm = sys.modules[name]\n",
    "getattr_computed_on_an_untraced_object": "def f(m, name):\n    return getattr(getattr(m, name), name)\n",
}


@pytest.mark.parametrize("kind", sorted(REACHING))
def test_reaching_around_the_counter_is_unverifiable(kind):
    findings = scan(REACHING[kind])
    assert findings.syntax_error is None
    assert findings.unverifiable or findings.banned_uses, kind


def test_honest_code_is_not_flagged():
    source = (
        "import math\nimport torch\nimport torch.nn as nn\n"
        "class MultiHeadSelfAttention(nn.Module):\n"
        '    """Not nn.MultiheadAttention: written by hand."""\n'
        "    def __init__(self, e, h):\n"
        "        super().__init__()\n"
        "        self._attention_weights = None\n"
        "        for name in ('q', 'k', 'v'):\n"
        "            setattr(self, f'{name}_proj', nn.Linear(e, e))\n"
        "    def scaled_dot_product_attention(self, q, k, v):\n"
        "        return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), -1) @ v\n"
        "    def forward(self, x):\n"
        "        q = getattr(self, 'q_proj')(x) + sum(getattr(self, f'{name}_proj')(x) for name in 'kv')\n"
        "        return self.scaled_dot_product_attention(q, q, q)\n"
        "    def twice(self, q):\n"
        "        return MultiHeadSelfAttention.scaled_dot_product_attention(self, q, q, q) + super().forward(q)\n"
    )
    findings = scan(source)
    assert findings.syntax_error is None and findings.banned_uses == [] and findings.unverifiable == []


@pytest.mark.parametrize("path", sorted(CORPUS.glob("correct_*.py")), ids=lambda path: path.stem)
def test_the_correct_corpus_stays_clean(path):
    findings = scan(path.read_bytes())
    assert findings.syntax_error is None and findings.banned_uses == [] and findings.unverifiable == []
