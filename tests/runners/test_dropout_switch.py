"""The agent can switch torch's dropout off for one call, and always puts it back."""

import pytest
import torch
import torch.nn.functional as F

from runners.agent.probes import dropout_switched_off


def test_dropout_functions_and_modules_return_their_input_while_switched_off():
    x = torch.ones(1000)
    layer = torch.nn.Dropout(0.5).train()
    with dropout_switched_off(True):
        assert torch.equal(F.dropout(x, 0.5, training=True), x)
        assert torch.equal(torch.dropout(x, 0.5, True), x)
        assert torch.equal(layer(x), x)
    assert not torch.equal(F.dropout(x, 0.5, training=True), x)


def test_it_is_put_back_even_when_the_call_raises():
    original = F.dropout
    with pytest.raises(ZeroDivisionError), dropout_switched_off(True):
        raise ZeroDivisionError
    assert F.dropout is original


def test_switched_off_only_when_asked():
    original = F.dropout
    with dropout_switched_off(False):
        assert F.dropout is original
