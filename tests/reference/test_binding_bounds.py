"""The readings of a module's parameters are bounded for the host, however many parameters it declares."""

import itertools
import tracemalloc

import torch

from harness.engine.parameters import MAX_PARAMETERS, chosen_values, declared_parameters
from reference_solutions.mhsa.binding import MAX_BINDINGS, MAX_OF_A_SHAPE, correct_bindings, mistaken_bindings


def _squares(count: int, embed: int = 8) -> dict[str, torch.Tensor]:
    return {f"w{index}": torch.randn(embed, embed, dtype=torch.float64) for index in range(count)}


def test_many_square_parameters_cost_the_host_little_memory():
    params = _squares(40)  # unbounded, the four-role permutations alone are 2.2 million tuples
    tracemalloc.start()
    try:
        first = list(itertools.islice(correct_bindings(params, 8, 2), 10))
        mistaken = list(itertools.islice(mistaken_bindings(params, 8, 2), 10))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first and mistaken
    assert peak < 32 << 20, f"{peak / (1 << 20):.0f} MiB traced while enumerating readings"
    considered = {source.name for binding in first for source in binding.weights if source is not None}
    assert considered <= {f"w{index}" for index in range(MAX_OF_A_SHAPE)}


def test_the_number_of_readings_is_bounded():
    assert sum(1 for _ in correct_bindings(_squares(200), 8, 2)) <= MAX_BINDINGS


def test_declarations_over_the_bounds_are_not_read():
    entry = {"name": "w", "shape": [8, 8], "dtype": "float32"}
    many = [{**entry, "name": f"w{index}"} for index in range(MAX_PARAMETERS + 1)]
    assert declared_parameters({"parameters": many}) is None
    assert declared_parameters({"parameters": [{**entry, "shape": [1 << 13, 1 << 12]}]}) is None  # 2**25 elements
    for broken in ([{**entry, "shape": [8, True]}], [{**entry, "dtype": "complex64"}], [entry, entry], "w", [5]):
        assert declared_parameters({"parameters": broken}) is None
    declared = declared_parameters({"parameters": [entry, {**entry, "name": "b", "shape": [8]}]})
    assert declared is not None
    values = chosen_values(declared, 11)
    assert list(values) == ["w", "b"] and values["w"].dtype == torch.float64
    assert torch.equal(values["w"], chosen_values(declared, 11)["w"])  # the same seed gives the same values
    assert not torch.equal(values["w"], chosen_values(declared, 12)["w"])
