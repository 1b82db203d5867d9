"""The agent: the small program that runs beside candidate code inside the sandbox.

It imports only the standard library, torch and safetensors, plus its own modules, so that it can be copied into a
sandbox on its own. The harness drives it over a pair of pipes (see :mod:`runners.agent.wire`).
"""
