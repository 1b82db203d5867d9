"""Regenerate the shipped JSON Schemas: ``python -m harness.schemas``."""

from . import write_all

for path in write_all():
    print(path)
