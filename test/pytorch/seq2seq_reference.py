"""PyTorch reference for tsgpt's encoder-decoder parity test: torch's own nn.Transformer with
tsgpt's weights, around it what the paper adds (a shared token embedding scaled by sqrt(d_model),
sinusoidal positions, the output layer tied to the embedding or not), on a padded batch ->
logits, loss and every gradient, in float32, written as safetensors under tsgpt's names.
Not a test by itself: test/seq2seq-parity.test.ts writes the inputs, runs this, and compares.

The stacks are nn.Transformer's, given as custom_encoder / custom_decoder so that their final
LayerNorm matches the paper: none after post-norm layers (each already ends with one), one after
pre-norm layers (norm_first=True). bias=false: torch 1.13's layers always have biases; they are
held at zero (no gradient), which computes the same function.

Usage (always Debian's interpreter, which has torch; several cases in one run pay for one import):
  /usr/bin/python3 test/pytorch/seq2seq_reference.py WEIGHTS.safetensors SPEC.json OUT.safetensors [...]

SPEC: {"config": EncoderDecoderConfig (dropout 0),
       "src": [[int]] (B, S), "srcPadding": [[0|1]], "tgt": [[int]] (B, T), "tgtPadding": [[0|1]],
       "targets": [[int]] (B, T), -1 = ignored}
OUT: "logits" (B, T, V), "loss" (), "grad/<tsgpt name>" for every parameter.
"""

import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from gpt_torch import read_safetensors, sinusoidal_table, write_safetensors  # noqa: E402

ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "gelu_tanh": lambda x: F.gelu(x, approximate="tanh")}


class Seq2Seq(nn.Module):
    """The paper's model around torch's nn.Transformer (batch_first)."""

    def __init__(self, cfg):
        super().__init__()
        C, N, nh = cfg["nEmbd"], cfg["nLayer"], cfg["nHead"]
        pre = cfg["norm"] == "pre"
        act = ACTIVATIONS[cfg["activation"]]
        kw = dict(dim_feedforward=4 * C, dropout=0.0, activation=act, batch_first=True, norm_first=pre)
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(C, nh, **kw), N, norm=nn.LayerNorm(C) if pre else None)
        dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(C, nh, **kw), N, norm=nn.LayerNorm(C) if pre else None)
        self.transformer = nn.Transformer(C, nh, custom_encoder=enc, custom_decoder=dec, batch_first=True)
        self.wte = nn.Embedding(cfg["vocabSize"], C)
        self.lm_head = None if cfg["tieWeights"] else nn.Linear(C, cfg["vocabSize"], bias=False)
        self.register_buffer("pe", sinusoidal_table(cfg["blockSize"], C))
        self.scale = math.sqrt(C)

    def embed(self, ids):
        return self.wte(ids) * self.scale + self.pe[: ids.shape[1]]

    def forward(self, src, src_pad, tgt, tgt_pad):
        T = tgt.shape[1]
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True = may not see
        y = self.transformer(
            self.embed(src),
            self.embed(tgt),
            tgt_mask=causal,
            src_key_padding_mask=src_pad,
            tgt_key_padding_mask=tgt_pad,
            memory_key_padding_mask=src_pad,
        )
        w = self.wte.weight if self.lm_head is None else self.lm_head.weight
        return y @ w.t()


def tsgpt_names(cfg):
    """tsgpt name -> (torch parameter name, row slice of it or None)."""
    C, N = cfg["nEmbd"], cfg["nLayer"]
    out = {"wte.weight": ("wte.weight", None)}
    if not cfg["tieWeights"]:
        out["lm_head.weight"] = ("lm_head.weight", None)

    def attn(ts, th):
        out[f"{ts}.c_q.weight"] = (f"{th}.in_proj_weight", slice(0, C))
        out[f"{ts}.c_kv.weight"] = (f"{th}.in_proj_weight", slice(C, 3 * C))
        out[f"{ts}.c_proj.weight"] = (f"{th}.out_proj.weight", None)
        if cfg["bias"]:
            out[f"{ts}.c_q.bias"] = (f"{th}.in_proj_bias", slice(0, C))
            out[f"{ts}.c_kv.bias"] = (f"{th}.in_proj_bias", slice(C, 3 * C))
            out[f"{ts}.c_proj.bias"] = (f"{th}.out_proj.bias", None)

    def linear(ts, th):
        out[f"{ts}.weight"] = (f"{th}.weight", None)
        if cfg["bias"]:
            out[f"{ts}.bias"] = (f"{th}.bias", None)

    for i in range(N):
        e, te = f"encoder.h.{i}", f"transformer.encoder.layers.{i}"
        attn(f"{e}.attn", f"{te}.self_attn")
        linear(f"{e}.ln_1", f"{te}.norm1")
        linear(f"{e}.mlp.c_fc", f"{te}.linear1")
        linear(f"{e}.mlp.c_proj", f"{te}.linear2")
        linear(f"{e}.ln_2", f"{te}.norm2")
        d, td = f"decoder.h.{i}", f"transformer.decoder.layers.{i}"
        attn(f"{d}.attn", f"{td}.self_attn")
        linear(f"{d}.ln_1", f"{td}.norm1")
        attn(f"{d}.cross_attn", f"{td}.multihead_attn")
        linear(f"{d}.ln_2", f"{td}.norm2")
        linear(f"{d}.mlp.c_fc", f"{td}.linear1")
        linear(f"{d}.mlp.c_proj", f"{td}.linear2")
        linear(f"{d}.ln_3", f"{td}.norm3")
    if cfg["norm"] == "pre":
        linear("encoder.ln_f", "transformer.encoder.norm")
        linear("decoder.ln_f", "transformer.decoder.norm")
    return out


def main(argv):
    if len(argv) == 0 or len(argv) % 3 != 0:
        sys.exit("usage: seq2seq_reference.py WEIGHTS.safetensors SPEC.json OUT.safetensors [...]")
    for i in range(0, len(argv), 3):
        run_case(*argv[i : i + 3])


def run_case(weights_path, spec_path, out_path):
    with open(spec_path) as f:
        spec = json.load(f)
    cfg = spec["config"]
    if cfg["dropout"] != 0:
        sys.exit(f"seq2seq_reference.py: dropout {cfg['dropout']}: parity needs dropout 0")
    torch.manual_seed(0)
    model = Seq2Seq(cfg)
    params = dict(model.named_parameters())
    names = tsgpt_names(cfg)
    tensors, _ = read_safetensors(weights_path)
    if set(tensors) != set(names):
        sys.exit(f"seq2seq_reference.py: weights {sorted(set(tensors) ^ set(names))} do not match the config")
    covered = set()
    with torch.no_grad():
        for ts, (th, rows) in names.items():
            p = params[th]
            (p if rows is None else p[rows]).copy_(tensors[ts].reshape((p if rows is None else p[rows]).shape))
            covered.add(th)
        for th, p in params.items():  # biases tsgpt does not have: zero, frozen
            if th not in covered:
                assert not cfg["bias"] and th.endswith("bias"), f"torch parameter {th} has no tsgpt weight"
                p.zero_()
                p.requires_grad_(False)
    model.train()

    src = torch.tensor(spec["src"], dtype=torch.long)
    tgt = torch.tensor(spec["tgt"], dtype=torch.long)
    src_pad = torch.tensor(spec["srcPadding"], dtype=torch.bool)
    tgt_pad = torch.tensor(spec["tgtPadding"], dtype=torch.bool)
    targets = torch.tensor(spec["targets"], dtype=torch.long)
    logits = model(src, src_pad, tgt, tgt_pad)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)
    loss.backward()
    out = {"logits": logits.detach(), "loss": loss.detach().reshape(())}
    for ts, (th, rows) in names.items():
        g = params[th].grad
        out[f"grad/{ts}"] = (g if rows is None else g[rows]).clone()
    write_safetensors(out_path, out, {"torch": torch.__version__})


if __name__ == "__main__":
    main(sys.argv[1:])
