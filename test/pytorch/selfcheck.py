"""Checks the PyTorch helpers against each other, for every norm/position/activation/bias
variant: gpt_torch.GPT (nn.Modules) and logits_only.py (plain functions) give the same logits
from the same safetensors file; reference.py's gradients match autograd through
logits_only's functions; the KV-cache path gives the full forward's logits. Run:
  /usr/bin/python3 test/pytorch/selfcheck.py        (prints one line per variant, exit 1 on failure)
"""

import itertools
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import logits_only  # noqa: E402
from gpt_torch import GPT, GPTConfig, KVCache, read_safetensors, write_safetensors  # noqa: E402


def check(cfg_json, tmp):
    cfg = GPTConfig.from_tsgpt(cfg_json)
    torch.manual_seed(1)
    model = GPT(cfg)
    with torch.no_grad():  # non-trivial LayerNorm params and biases
        for n, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    weights = os.path.join(tmp, "w.safetensors")
    write_safetensors(weights, model.state_dict())  # nanoGPT names, lm_head included
    back, _ = read_safetensors(weights)
    assert all(torch.equal(back[k], v) for k, v in model.state_dict().items()), "safetensors round trip"

    idx = torch.randint(cfg.vocab_size, (2, cfg.block_size))
    targets = torch.randint(cfg.vocab_size, (2, cfg.block_size))
    targets[0, 0] = -1
    with torch.no_grad():
        ref_logits, _ = model(idx)
    sd = {k: v.clone() for k, v in back.items()}
    fn_logits = logits_only.logits(sd, logits_only_cfg(cfg_json), idx)
    err_fn = (fn_logits - ref_logits).abs().max().item()

    # KV cache: prefill 3 tokens, then one at a time
    cache = KVCache(cfg, batch_size=2)
    with torch.no_grad():
        steps = [model(idx[:, :3], cache=cache)[0]]
        for t in range(3, cfg.block_size):
            steps.append(model(idx[:, t : t + 1], cache=cache)[0])
    err_cache = (torch.cat(steps, dim=1) - ref_logits).abs().max().item()

    spec = os.path.join(tmp, "spec.json")
    out = os.path.join(tmp, "out.safetensors")
    with open(spec, "w") as f:
        json.dump({"config": cfg_json, "idx": idx.tolist(), "targets": targets.tolist(),
                   "adamw": {"lr": 1e-2, "weightDecay": 0.1, "gradClip": 1.0, "steps": 2}}, f)
    subprocess.run([sys.executable, os.path.join(HERE, "reference.py"), weights, spec, out], check=True)
    res, _ = read_safetensors(out)
    # autograd through the functional model, independently of gpt_torch
    leaves = {k: v.clone().requires_grad_(True) for k, v in sd.items() if k != "lm_head.weight"}
    loss = torch.nn.functional.cross_entropy(
        logits_only.logits(leaves, logits_only_cfg(cfg_json), idx).view(-1, cfg.vocab_size), targets.view(-1),
        ignore_index=-1)
    loss.backward()
    err_loss = abs(loss.item() - res["loss"].item())
    err_grad = max(((leaves[k].grad - res[f"grad/{k}"]).abs().max() / (leaves[k].grad.abs().max() + 1e-12)).item()
                   for k in leaves)
    moved = max((res[f"param/{k}"] - leaves[k].detach()).abs().max().item() for k in leaves)
    ok = err_fn < 1e-5 and err_cache < 1e-5 and err_loss < 1e-6 and err_grad < 1e-4 and moved > 1e-3
    print(f"{'ok  ' if ok else 'FAIL'} {cfg.norm:4} {cfg.positional:10} {cfg.activation:9} bias={cfg.bias!s:5} "
          f"logits {err_fn:.1e} cache {err_cache:.1e} loss {err_loss:.1e} grad(rel) {err_grad:.1e} step moved {moved:.2e}")
    return ok


def logits_only_cfg(cfg_json):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(cfg_json, f)
    try:
        return logits_only.load_config(f.name)
    finally:
        os.unlink(f.name)


def main():
    base = {"vocabSize": 13, "blockSize": 8, "nLayer": 2, "nHead": 2, "nEmbd": 8, "dropout": 0}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for norm, pos, act, bias in itertools.product(("pre", "post"), ("learned", "sinusoidal"),
                                                      ("gelu", "gelu_tanh", "relu"), (True, False)):
            cfg = dict(base, norm=norm, positional=pos, activation=act, bias=bias)
            ok = check(cfg, tmp) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
