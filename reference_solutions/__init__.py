"""Trusted reference solutions, one module per problem. They run only in the harness's process, never in a sandbox.

Each module exposes ``REFERENCE``, an object with the :class:`harness.engine.reference.ReferenceSolution` shape.
"""
