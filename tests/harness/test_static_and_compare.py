from __future__ import annotations

import torch

from harness.engine.compare import compare
from harness.engine.static import analyse_source
from harness.models import Tolerance

BANNED = ["torch.nn.MultiheadAttention", "torch.nn.functional.scaled_dot_product_attention"]


def test_syntax_error_is_found_without_running_the_code():
    findings = analyse_source("import os\nos.system('touch /tmp/pwned'\n", "x.py", BANNED)
    assert findings.syntax_error is not None and findings.syntax_error["line"] in (2, 3)


def test_banned_callables_through_aliases():
    source = (
        "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n"
        "from torch.nn.functional import scaled_dot_product_attention as sdpa\n"
        "a = nn.MultiheadAttention(4, 2)\nb = F.scaled_dot_product_attention\nc = torch.nn.MultiheadAttention\n"
    )
    lines = sorted(use["line"] for use in analyse_source(source, "x.py", BANNED).banned_uses)
    assert lines == [4, 5, 6, 7]


def test_own_helper_with_a_banned_name_is_not_flagged():
    source = (
        "import torch\nclass A:\n    def scaled_dot_product_attention(self, q):\n        return q\n"
        "    def f(self, q):\n        return self.scaled_dot_product_attention(q)\n"
        "doc = 'do not use nn.MultiheadAttention'\n"
    )
    assert analyse_source(source, "x.py", BANNED).banned_uses == []


def test_all_zeros_cannot_pass_the_relative_test():
    expected = torch.full((4, 4), 1e-6, dtype=torch.float64)
    tolerance = Tolerance(rtol=1e-4, atol=1e-5, max_relative_error=1e-4)
    assert compare(torch.zeros(4, 4), expected, tolerance).matches  # below atol: both are zero to rounding
    expected = torch.randn(4, 4, dtype=torch.float64) * 1e-3
    assert not compare(torch.zeros(4, 4), expected, tolerance).matches


def test_compare_rejects_wrong_shape_and_non_finite():
    tolerance = Tolerance()
    assert "shape" in compare(torch.zeros(2, 3), torch.zeros(3, 2), tolerance).reason
    assert "NaN" in compare(torch.tensor([float("nan")]), torch.tensor([0.0]), tolerance).reason
    assert not compare(torch.zeros(2, dtype=torch.int64), torch.zeros(2), tolerance).matches


def test_compare_accepts_float32_rounding_of_large_values():
    expected = torch.randn(64, 64, dtype=torch.float64) * 50
    assert compare(expected.float(), expected, Tolerance()).matches
