"""One spec per layer kind (singa_spec) and one runtime implementation registered under its name."""
from __future__ import annotations

import pytest
from singa_spec import SPECS, LayerSpec, SingaError, register_spec, spec_of
from singa_spec.shapes import same
from singart.layers import IMPLEMENTATIONS, Layer, register_layer

# Kinds the compiler plans but this runtime does not run: v0.1's stub kPrefetch, which the compiler refuses.
NOT_RUN_YET = {"kPrefetch"}


def test_every_other_kind_has_an_implementation() -> None:
    assert set(IMPLEMENTATIONS) <= set(SPECS)
    assert set(SPECS) - set(IMPLEMENTATIONS) == NOT_RUN_YET


def test_input_kinds_take_no_gradient_and_the_others_do() -> None:
    no_grad = {name for name, spec in SPECS.items() if not spec.grad}
    assert no_grad == {"kShardData", "kLMDBData", "kPrefetch", "kLabel", "kMnist", "kRGBImage", "kTokens"}
    assert {name for name, spec in SPECS.items() if spec.loss} == {"kSoftmaxLoss", "kEuclideanLoss"}


def test_an_implementation_needs_a_spec() -> None:
    class Orphan(Layer):
        pass

    with pytest.raises(ValueError, match="kNoSuchKind has no spec"):
        register_layer("kNoSuchKind", Orphan)


def test_a_kind_has_one_implementation() -> None:
    class Second(Layer):
        pass

    with pytest.raises(ValueError, match="two implementations"):
        register_layer("kReLU", Second)


def test_a_kind_has_one_spec() -> None:
    with pytest.raises(SingaError, match="registered twice"):
        register_spec(LayerSpec("kReLU", same))
    assert spec_of("kReLU") is SPECS["kReLU"]


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(SingaError, match=r"no layer kind kFoo is registered; known: .*kInnerProduct"):
        spec_of("kFoo")
