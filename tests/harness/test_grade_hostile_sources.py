"""Hostile sources graded end to end with the in-process fake runner.

Compile errors instead of internal errors, small scorecards for padded lines, and reporters that show the candidate's
text instead of interpreting it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.api import grade
from harness.reporters import REPORTERS, render_text

HONEST = """
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h, self.d = num_heads, embed_dim // num_heads
        self.q, self.k, self.v = (nn.Linear(embed_dim, embed_dim) for _ in range(3))
        self.o = nn.Linear(embed_dim, embed_dim)

    def _heads(self, t):
        seq, batch, _ = t.shape
        return t.view(seq, batch, self.h, self.d).permute(1, 2, 0, 3)

    def forward(self, x):
        seq, batch, embed = x.shape
        out = ATTENTION
        return self.o(out.permute(2, 0, 1, 3).reshape(seq, batch, embed))
"""


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "submission.py"
    path.write_bytes(data)
    return path


def test_a_utf7_cookie_is_a_compile_error(tmp_path):
    source = b"# -*- coding: utf-7 -*-\nimport torch\nimport torch.nn as nn\n" + HONEST.encode()
    card = grade(_write(tmp_path, source), "mhsa", "fake", seed=1)
    assert card.status == "compile_error" and "utf-7" in card.message


@pytest.mark.parametrize(
    "source",
    [b"x = " + b"-" * 40_000 + b"1\n", b"x = a" + b".b" * 20_000 + b"\n", b"x = " + b"1 + " * 20_000 + b"1\n"],
    ids=["unary_minus", "attribute_chain", "left_recursive_sum"],
)
def test_deep_nesting_is_a_compile_error_not_an_internal_error(tmp_path, source):
    card = grade(_write(tmp_path, source), "mhsa", "fake", seed=1)
    assert card.status == "compile_error", card.message


def test_a_padded_banned_line_gives_a_small_scorecard(tmp_path):
    call = "self._heads(self.q(x)), self._heads(self.k(x)), self._heads(self.v(x))"
    body = HONEST.replace("ATTENTION", f"F.scaled_dot_product_attention({call})  # " + "pad " * 200_000)
    source = "import torch.nn as nn\nimport torch.nn.functional as F\n" + body
    card = grade(_write(tmp_path, source.encode()), "mhsa", "fake", seed=1)
    items = {item.id: item for item in card.items}
    assert items["from_scratch"].status == "failed"
    assert len(REPORTERS["json"](card)) < 100_000
    assert len(render_text(card)) < 100_000


MARKUP = "[/bold] [link=file:///etc/passwd]x[/link] [red]y \x1b[2J"


def test_the_text_reporter_shows_markup_in_candidate_text_literally(tmp_path):
    source = "import torch\nimport torch.nn as nn\n" + HONEST.replace("ATTENTION", f"self.boom({MARKUP!r})")
    source += "\n    def boom(self, message):\n        raise RuntimeError(message)\n"
    path = tmp_path / "[bold]odd[red].py"
    path.write_text(source)
    card = grade(path, "mhsa", "fake", seed=1)
    assert any("[/bold]" in item.feedback for item in card.items)
    text = render_text(card, width=400)
    assert "[/bold] [link=file:///etc/passwd]x[/link] [red]y" in text
    assert "[bold]odd[red].py" in text
    assert "\x1b" not in text and "\\x1b" in text
    json.loads(REPORTERS["json"](card))
