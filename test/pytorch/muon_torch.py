"""Muon in PyTorch, as Keller Jordan wrote it (github.com/KellerJordan/Muon, muon.py:
zeropower_via_newtonschulz5, muon_update, SingleDeviceMuon), in float32 where his runs the
Newton-Schulz iteration in bfloat16 (on a GPU), so that tsgpt's float32 Muon can be compared
with it. The reference side of tsgpt's Muon parity test (reference.py). Only `torch`.
"""

import torch


def zeropower_via_newtonschulz5(G, steps):
    """Orthogonalise G: 'steps' iterations of the quintic X = aX + (bA + cA^2)X, A = XX^T."""
    assert G.ndim >= 2
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.float()  # Keller Jordan: G.bfloat16()
    if G.size(-2) > G.size(-1):
        X = X.mT
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        A = X @ X.mT
        B = b * A + c * A @ A
        X = a * X + B @ X
    if G.size(-2) > G.size(-1):
        X = X.mT
    return X


def muon_update(grad, momentum, beta=0.95, ns_steps=5, nesterov=True):
    momentum.lerp_(grad, 1 - beta)
    update = grad.lerp_(momentum, beta) if nesterov else momentum
    update = zeropower_via_newtonschulz5(update, steps=ns_steps)
    update *= max(1, grad.size(-2) / grad.size(-1)) ** 0.5
    return update


class Muon(torch.optim.Optimizer):
    """SingleDeviceMuon, with ns_steps as a parameter."""

    def __init__(self, params, lr=0.02, weight_decay=0, momentum=0.95, ns_steps=5):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, ns_steps=ns_steps))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                state = self.state[p]
                if len(state) == 0:
                    state["momentum_buffer"] = torch.zeros_like(p)
                update = muon_update(p.grad, state["momentum_buffer"], beta=group["momentum"], ns_steps=group["ns_steps"])
                p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(update.reshape(p.shape), alpha=-group["lr"])


def is_muon_param(name, p):
    """tsgpt's rule (src/train/muon.ts): 2-D, and not an embedding or the output head."""
    return p.dim() == 2 and name not in ("transformer.wte.weight", "transformer.wpe.weight", "lm_head.weight")
