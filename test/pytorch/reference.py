"""PyTorch reference for tsgpt's parity tests: same weights, same batch -> logits, loss, every
gradient, and the parameters after AdamW step(s), all in float32, written as safetensors.
Not a test by itself: the TypeScript test writes the inputs, runs this, and compares.

Usage (always Debian's interpreter, which has torch):
  /usr/bin/python3 test/pytorch/reference.py WEIGHTS.safetensors SPEC.json OUT.safetensors

WEIGHTS: tsgpt-named float tensors (= nanoGPT names; lm_head.weight optional, must equal wte).
SPEC: {
  "config": {vocabSize, blockSize, nLayer, nHead, nEmbd, dropout: 0, bias, positional, norm, activation},
  "idx": [[int]] (B, T),  "targets": [[int]] (B, T), -1 = ignored,
  "adamw": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weightDecay": 0.1,
            "gradClip": 1.0 (optional; clip_grad_norm_ before the step), "steps": 1 (optional)}
}
  with "muon": {"lr": 0.02, "momentum": 0.95, "nsSteps": 5, "weightDecay": 0} in "adamw": Keller Jordan's
  Muon (muon_torch.py) for the 2-D hidden weights, AdamW for the rest (tsgpt's optimizer 'muon').
OUT (float32): "logits" (B, T, V), "loss" (), "grad_norm" () (before clipping),
  "grad/<name>" for every parameter (wte's includes the tied output head's share),
  "param/<name>" after `steps` AdamW steps on the same batch (weight decay on >= 2-D only).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from gpt_torch import GPT, GPTConfig, read_safetensors, write_safetensors  # noqa: E402
from muon_torch import Muon, is_muon_param  # noqa: E402

ADAMW_KEYS = {"lr", "beta1", "beta2", "eps", "weightDecay", "gradClip", "steps", "muon"}


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: reference.py WEIGHTS.safetensors SPEC.json OUT.safetensors")
    weights_path, spec_path, out_path = argv
    with open(spec_path) as f:
        spec = json.load(f)
    unknown = set(spec) - {"config", "idx", "targets", "adamw"}
    if unknown:
        sys.exit(f"reference.py: unknown spec keys {sorted(unknown)}")
    config = GPTConfig.from_tsgpt(spec["config"])
    if config.dropout != 0:
        sys.exit(f"reference.py: dropout {config.dropout}: parity needs dropout 0 (random masks differ)")
    hp = spec.get("adamw", {})
    if set(hp) - ADAMW_KEYS:
        sys.exit(f"reference.py: unknown adamw keys {sorted(set(hp) - ADAMW_KEYS)}")

    torch.manual_seed(0)
    model = GPT(config)
    tensors, _ = read_safetensors(weights_path)
    model.load_tsgpt_state(tensors)
    model.train()

    idx = torch.tensor(spec["idx"], dtype=torch.long)
    targets = torch.tensor(spec["targets"], dtype=torch.long)
    assert idx.dim() == 2 and idx.shape == targets.shape, f"idx {tuple(idx.shape)} vs targets {tuple(targets.shape)}"

    muon = hp.get("muon")
    named = list(model.named_parameters())  # a tied head appears once, as wte
    hidden = [p for n, p in named if muon is not None and is_muon_param(n, p)]
    rest = [p for n, p in named if not any(p is h for h in hidden)]
    decay = hp.get("weightDecay", 0.1)
    opt = torch.optim.AdamW(
        [
            {"params": [p for p in rest if p.dim() >= 2], "weight_decay": decay},
            {"params": [p for p in rest if p.dim() < 2], "weight_decay": 0.0},
        ],
        lr=hp.get("lr", 1e-3),
        betas=(hp.get("beta1", 0.9), hp.get("beta2", 0.99)),
        eps=hp.get("eps", 1e-8),
    )
    opts = [opt]
    if hidden:
        opts.append(
            Muon(hidden, lr=muon["lr"], momentum=muon["momentum"], ns_steps=muon["nsSteps"], weight_decay=muon["weightDecay"])
        )
    names = {id(p): n for n, p in named}
    out = {}
    for step in range(int(hp.get("steps", 1))):
        for o in opts:
            o.zero_grad(set_to_none=True)
        logits, loss = model(idx, targets)
        loss.backward()
        total = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters())).float()
        if step == 0:
            out["logits"] = logits.detach()
            out["loss"] = loss.detach().reshape(())
            out["grad_norm"] = total.reshape(())
            for p in model.parameters():
                out[f"grad/{names[id(p)]}"] = p.grad.detach().clone()
        if hp.get("gradClip") is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), hp["gradClip"])
        for o in opts:
            o.step()
    for p in model.parameters():
        out[f"param/{names[id(p)]}"] = p.detach().clone()
    write_safetensors(out_path, out, {"torch": torch.__version__, "config": json.dumps(spec["config"])})


if __name__ == "__main__":
    main(sys.argv[1:])
