"""The built-in problem packs, one directory each (problem.yaml, rubric.yaml, reference.py, solution.py)."""
