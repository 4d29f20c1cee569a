"""PyTorch reference for tsgpt's dropout parity test: nanoGPT's GPT in training mode with every
dropout (embedding, attention probabilities, both residual branches) drawing tsgpt's masks, so
the loss and every gradient can be compared number for number. Not a test by itself: the
TypeScript test (test/attention-dropout.test.ts) writes the inputs, runs this, and compares.

tsgpt's dropout mask is counter-based: element i of a tensor (its flat row-major index) is kept
iff lowbias32(seed * 0x9e3779b9 + i) >>> 8 >= p * 2^24 (dropoutUniform in src/backend/backend.ts),
kept values scaled by 1 / (1 - p). The seeds are drawn one per dropout call, in the order the
forward pass makes them: the embedding's, then per block the attention probabilities', the
attention residual's, the MLP's. Here each nn.Dropout is replaced by HashDropout, which takes the
next seed from SPEC's list in call order (the same order).

Usage: /usr/bin/python3 test/pytorch/dropout_reference.py WEIGHTS.safetensors SPEC.json OUT.safetensors
SPEC: {"config": {... dropout: p > 0 ...}, "idx": [[int]], "targets": [[int]], "seeds": [int]}
OUT (float32): "logits", "loss", "grad/<name>" for every parameter.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from gpt_torch import GPT, GPTConfig, read_safetensors, write_safetensors  # noqa: E402

M32 = 0xFFFFFFFF


def dropout_uniform(seed, n):
    """tsgpt's dropoutUniform(seed, i) for i in [0, n), as float64 (int64 lanes, low 32 bits kept)."""
    i = torch.arange(n, dtype=torch.int64)
    x = ((seed * 0x9E3779B9) + i) & M32
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & M32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & M32
    x = x ^ (x >> 16)
    return (x >> 8).double() / 16777216.0


class HashDropout(nn.Module):
    """Inverted dropout whose mask is tsgpt's for the next seed of a shared list."""

    def __init__(self, p, seeds):
        super().__init__()
        self.p = p
        self.seeds = seeds  # a shared iterator: each call takes the next seed

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        seed = next(self.seeds)
        keep = (dropout_uniform(seed, x.numel()) >= self.p).reshape(x.shape)
        return x * keep.to(x.dtype) * (1.0 / (1.0 - self.p))


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: dropout_reference.py WEIGHTS.safetensors SPEC.json OUT.safetensors")
    weights_path, spec_path, out_path = argv
    with open(spec_path) as f:
        spec = json.load(f)
    config = GPTConfig.from_tsgpt(spec["config"])
    model = GPT(config)
    tensors, _ = read_safetensors(weights_path)
    model.load_tsgpt_state(tensors)
    seeds = iter(spec["seeds"])
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Dropout):
                setattr(parent, name, HashDropout(config.dropout, seeds))
    model.train()
    idx = torch.tensor(spec["idx"], dtype=torch.long)
    targets = torch.tensor(spec["targets"], dtype=torch.long)
    logits, loss = model(idx, targets)
    loss.backward()
    left = sum(1 for _ in seeds)
    if left:
        sys.exit(f"dropout_reference.py: {left} seeds were not used (tsgpt drew more masks than PyTorch)")
    names = {id(p): n for n, p in model.named_parameters()}
    out = {"logits": logits.detach(), "loss": loss.detach().reshape(())}
    for p in model.parameters():
        out[f"grad/{names[id(p)]}"] = p.grad.detach().clone()
    write_safetensors(out_path, out, {"torch": torch.__version__})


if __name__ == "__main__":
    main(sys.argv[1:])
