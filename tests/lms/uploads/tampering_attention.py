"""Correct attention that tries, on import, to forge its LMS result or read what the grader keeps from it."""
import glob
import json
import math
import sys

import torch
import torch.nn as nn

_ATTEMPTS = []


def _try(name, action):
    try:
        action()
    except OSError:
        return
    _ATTEMPTS.append(name)


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def _read(path):
    with open(path) as handle:
        handle.read(1)


_FORGED = json.dumps({"score": 1000, "tests": [], "gradable": True})
_try("gradescope results", lambda: _write("/autograder/results/results.json", _FORGED))
_try("prairielearn results", lambda: _write("/grade/results/results.json", _FORGED))
_try("gradescope config", lambda: _read("/autograder/source/harness_autograder.json"))
_try("prairielearn config", lambda: _read("/opt/harness/harness_autograder.json"))
_try("submission metadata", lambda: _read("/autograder/submission_metadata.json"))
_found = [glob.glob(f"{folder}/{package}/**/*.py", recursive=True)
          for folder in {*sys.path, "/usr/local/lib/python3.11/dist-packages", "/usr/lib/python3/dist-packages"}
          for package in ("reference_solutions", "problem_packs", "harness")]
for _reference in [path for paths in _found for path in paths][:50]:
    _try(f"reference {_reference}", lambda path=_reference: _read(path))
print(_FORGED)
print(_FORGED, file=sys.stderr)
if _ATTEMPTS:
    raise RuntimeError(f"tampering succeeded: {_ATTEMPTS}")


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q = nn.Linear(embed_dim, embed_dim)
        self.k = nn.Linear(embed_dim, embed_dim)
        self.v = nn.Linear(embed_dim, embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        seq, batch, embed = x.shape

        def split(t):
            return t.reshape(seq, batch * self.num_heads, self.head_dim).transpose(0, 1)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(self.head_dim), dim=-1)
        heads = (weights @ v).transpose(0, 1).reshape(seq, batch, embed)
        return self.out(heads)
