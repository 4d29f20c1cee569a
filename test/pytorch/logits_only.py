"""Logits of an exported tsgpt model, using nothing but `torch` and the files: proof that an
export is self-describing. Deliberately standalone (no tsgpt, no other file of this repo, no
`safetensors` package): copy it anywhere. The model is written as plain functions over the
state dict, a second implementation independent of gpt_torch.py's nn.Modules.

  /usr/bin/python3 logits_only.py MODEL.safetensors CONFIG.json '[[0, 5, 7]]'  > logits.json

MODEL: nanoGPT-named tensors (`tsgpt export --format nanogpt`). CONFIG: tsgpt's config JSON
(camelCase) or nanoGPT's model_args (snake_case); a {"config": {...}} wrapper is accepted.
Prints {"shape": [B, T, V], "logits": [[[...]]]} (float32 values).
"""

import json
import math
import struct
import sys

import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        buf = bytearray(raw[8 + n + begin : 8 + n + end])
        t = torch.frombuffer(buf, dtype=dtypes[e["dtype"]]) if buf else torch.empty(0)
        out[name] = t.reshape(e["shape"]).float()
    return out


def load_config(path):
    with open(path) as f:
        c = json.load(f)
    c = c.get("config", c)
    snake = {"".join("_" + ch.lower() if ch.isupper() else ch for ch in k): v for k, v in c.items()}
    return {
        "n_layer": snake["n_layer"],
        "n_head": snake["n_head"],
        "n_embd": snake["n_embd"],
        "block_size": snake["block_size"],
        "positional": snake.get("positional", "learned"),
        "norm": snake.get("norm", "pre"),
        "activation": snake.get("activation", "gelu"),
    }


def logits(sd, cfg, idx):
    B, T = idx.shape
    C, nh = cfg["n_embd"], cfg["n_head"]
    hs = C // nh
    g = sd.get  # biases may be absent (bias=False)

    def ln(x, p):
        return F.layer_norm(x, (C,), sd[p + ".weight"], g(p + ".bias"), 1e-5)

    def act(x):
        a = cfg["activation"]
        return F.relu(x) if a == "relu" else F.gelu(x, approximate="tanh" if a == "gelu_tanh" else "none")

    def attn(x, p):
        q, k, v = F.linear(x, sd[p + ".c_attn.weight"], g(p + ".c_attn.bias")).split(C, dim=2)
        q, k, v = (t.view(B, T, nh, hs).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return F.linear(y, sd[p + ".c_proj.weight"], g(p + ".c_proj.bias"))

    def mlp(x, p):
        h = act(F.linear(x, sd[p + ".c_fc.weight"], g(p + ".c_fc.bias")))
        return F.linear(h, sd[p + ".c_proj.weight"], g(p + ".c_proj.bias"))

    x = sd["transformer.wte.weight"][idx]  # (B, T, C)
    if cfg["positional"] == "learned":
        x = x + sd["transformer.wpe.weight"][:T]
    else:  # PE[pos, 2i] = sin(pos / 10000^(2i/C)), PE[pos, 2i+1] = cos(...)
        pos = torch.arange(T, dtype=torch.float64)[:, None]
        ang = pos / torch.pow(10000.0, torch.arange(0, C, 2, dtype=torch.float64) / C)
        pe = torch.zeros(T, C, dtype=torch.float64)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(ang), torch.cos(ang[:, : C // 2])
        x = x + pe.float()
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}"
        if cfg["norm"] == "pre":
            x = x + attn(ln(x, p + ".ln_1"), p + ".attn")
            x = x + mlp(ln(x, p + ".ln_2"), p + ".mlp")
        else:
            x = ln(x + attn(x, p + ".attn"), p + ".ln_1")
            x = ln(x + mlp(x, p + ".mlp"), p + ".ln_2")
    x = ln(x, "transformer.ln_f")
    head = sd.get("lm_head.weight", sd["transformer.wte.weight"])
    return F.linear(x, head)  # (B, T, V)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: logits_only.py MODEL.safetensors CONFIG.json IDX_JSON")
    sd = read_safetensors(argv[0])
    cfg = load_config(argv[1])
    idx = torch.tensor(json.loads(argv[2]), dtype=torch.long)
    assert idx.dim() == 2 and idx.shape[1] <= cfg["block_size"], f"idx shape {tuple(idx.shape)}"
    with torch.no_grad():
        out = logits(sd, cfg, idx)
    json.dump({"shape": list(out.shape), "logits": out.tolist()}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
