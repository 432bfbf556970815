"""The split-based equivariant linear map equals e3nn's on the same parameters."""

from __future__ import annotations

import pytest
import torch
from e3nn import o3

from nextham.model.linear import Linear

NODE = o3.Irreps("8x0e+4x1o+2x1e+4x2e+2x2o")
EDGE = o3.Irreps("4x0e+2x1o+2x1e+2x2e")
CASES = [
    (NODE + EDGE, NODE),  # a concatenated input, as in the Transformer's updates
    (EDGE + NODE + NODE + NODE, EDGE),
    (NODE, o3.Irreps("3x0e")),  # only scalars out
    (o3.Irreps("3x1o+2x0e+1x2e"), o3.Irreps("2x0e+1x1o+3x2o")),  # an output without input
]


@pytest.mark.parametrize(("irreps_in", "irreps_out"), CASES)
def test_same_values_gradients_and_second_derivatives(irreps_in, irreps_out):
    torch.manual_seed(0)
    reference = o3.Linear(irreps_in, irreps_out).double()
    linear = Linear(irreps_in, irreps_out).double()
    linear.load_state_dict(reference.state_dict())  # same parameters, same layout
    assert [p.shape for p in linear.parameters()] == [p.shape for p in reference.parameters()]
    x = torch.randn(2, 5, irreps_in.dim, dtype=torch.float64, requires_grad=True)
    outputs = []
    for m in (reference, linear):
        y = m(x)
        (gx,) = torch.autograd.grad((y**2).sum(), x, create_graph=True)  # as TraceGrad does
        (gw,) = torch.autograd.grad((gx**2).sum(), m.weight)
        outputs.append((y, gx, gw))
    for a, b in zip(*outputs):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_equivariant():
    linear = Linear(NODE + EDGE, NODE).double()
    rot = o3.rand_matrix(dtype=torch.float64)
    x = torch.randn(7, (NODE + EDGE).dim, dtype=torch.float64)
    d_in = (NODE + EDGE).D_from_matrix(rot)
    d_out = NODE.D_from_matrix(rot)
    torch.testing.assert_close(linear(x @ d_in.T), linear(x) @ d_out.T, rtol=1e-10, atol=1e-10)
