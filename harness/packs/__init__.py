"""Problem packs: the generic engine's problems, where they are found, and how they are graded.

``spec`` and ``pack`` describe a problem, ``registry`` finds it, ``plan``, ``evidence``, ``checks`` and ``grade``
grade a submission, ``selftest`` and ``scaffold`` serve authors.
"""
