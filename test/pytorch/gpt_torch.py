"""nanoGPT's GPT in plain PyTorch (only `torch`), with tsgpt's variants, plus a tiny
safetensors reader/writer. The PyTorch side of tsgpt's parity tests (reference.py) and of
the benchmark (bench/pytorch/train_ref.py) both build their model from this one file.

Not a copy of nanoGPT's repo: the same architecture, parameter names and init
(LayerNorm -> CausalSelfAttention -> MLP -> Block -> GPT), extended with the config fields
tsgpt has: positional 'learned'|'sinusoidal'|'rope', norm 'pre'|'post',
activation 'gelu'|'gelu_tanh'|'relu'|'relu2'|'swiglu', norm_type 'layernorm'|'rmsnorm',
qk_norm, attn_scale, tie_weights, logit_softcap. Attention is the explicit softmax(QK^T/sqrt(hs))V
(PyTorch 1.13 has no fused scaled_dot_product_attention), computed in float32.
"""

import json
import math
import struct
from dataclasses import dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------
# model


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    positional: str = "learned"  # 'learned' | 'sinusoidal'
    norm: str = "pre"  # 'pre' | 'post'
    activation: str = "gelu"  # 'gelu' | 'gelu_tanh' | 'relu' | 'relu2' | 'swiglu'
    norm_type: str = "layernorm"  # 'layernorm' | 'rmsnorm'
    qk_norm: bool = False  # RMS-normalise each query and key head (no gain)
    attn_scale: float = 0.0  # score scale; 0: 1/sqrt(head size)
    tie_weights: bool = True  # lm_head shares wte's weight
    logit_softcap: float = 0.0  # logits = cap * tanh(logits / cap); 0: off

    @staticmethod
    def from_tsgpt(d):
        """From tsgpt's camelCase config JSON ({vocabSize, blockSize, nLayer, ...})."""
        names = {f.name for f in fields(GPTConfig)}
        kw = {}
        for k, v in d.items():
            snake = "".join("_" + c.lower() if c.isupper() else c for c in k)
            if snake not in names:
                raise ValueError(f"config: unknown key {k!r}")
            kw[snake] = v
        cfg = GPTConfig(**kw)
        cfg.validate()
        return cfg

    def validate(self):
        assert self.n_embd % self.n_head == 0, f"n_embd {self.n_embd} not divisible by n_head {self.n_head}"
        assert self.positional in ("learned", "sinusoidal", "rope"), f"positional {self.positional!r}"
        assert self.norm in ("pre", "post"), f"norm {self.norm!r}"
        assert self.activation in ("gelu", "gelu_tanh", "relu", "relu2", "swiglu"), f"activation {self.activation!r}"
        assert self.norm_type in ("layernorm", "rmsnorm"), f"norm_type {self.norm_type!r}"


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (PyTorch's has no bias=False). eps 1e-5."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight (PyTorch 1.13 has no rms_norm). eps 1e-5."""

    def __init__(self, ndim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.weight


def make_norm(config):
    return RMSNorm(config.n_embd) if config.norm_type == "rmsnorm" else LayerNorm(config.n_embd, bias=config.bias)


def rope_tables(block_size, hs, base=10000.0):
    """cos, sin (block_size, hs/2) of angle pos / base^(2i/hs), in float64 -> float32 (tsgpt's tables)."""
    pos = torch.arange(block_size, dtype=torch.float64)[:, None]
    i = torch.arange(hs // 2, dtype=torch.float64)
    angle = pos / torch.pow(base, 2 * i / hs)
    return torch.cos(angle).float(), torch.sin(angle).float()


def apply_rope(x, cos, sin):
    """x (B, nh, T, hs): pairs (x[i], x[i + hs/2]) rotated by the angles of their position."""
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def rms_heads(x):
    """QK-norm: each head vector divided by its RMS (no gain), eps 1e-5."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.qk_norm = config.qk_norm
        hs = config.n_embd // config.n_head
        self.scale = config.attn_scale if config.attn_scale > 0 else 1.0 / math.sqrt(hs)
        self.rope = config.positional == "rope"
        if self.rope:
            cos, sin = rope_tables(config.block_size, hs)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        mask = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        self.register_buffer("mask", mask.view(1, 1, config.block_size, config.block_size), persistent=False)

    def forward(self, x, cache=None):
        B, T, C = x.size()
        nh, hs = self.n_head, C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, nh, hs).transpose(1, 2)
        v = v.view(B, T, nh, hs).transpose(1, 2)
        if self.qk_norm:
            q, k = rms_heads(q), rms_heads(k)
        if self.rope:  # rotated by absolute position; cached keys stay rotated
            past0 = 0 if cache is None else cache.cache.length
            cos, sin = self.rope_cos[past0 : past0 + T], self.rope_sin[past0 : past0 + T]
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is None:
            att = (q @ k.transpose(-2, -1)) * self.scale  # (B, nh, T, T)
            att = att.masked_fill(~self.mask[:, :, :T, :T], float("-inf"))
        else:
            # KV cache: append this step's keys/values, attend over everything so far
            k, v, past = cache.append(k, v)  # (B, nh, past+T, hs)
            att = (q @ k.transpose(-2, -1)) * self.scale  # (B, nh, T, past+T)
            if T > 1:  # one new token sees every cached position: nothing to mask
                att = att.masked_fill(~self.mask[:, :, past : past + T, : past + T], float("-inf"))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "relu2": lambda x: F.relu(x).square(),
}


def swiglu_hidden(n_embd):
    """2/3 of 4C rounded up to a multiple of 8 (tsgpt's swigluHidden)."""
    return math.ceil(8 * n_embd / 3 / 8) * 8


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.swiglu = config.activation == "swiglu"
        hidden = swiglu_hidden(config.n_embd) if self.swiglu else 4 * config.n_embd
        self.c_fc = nn.Linear(config.n_embd, 2 * hidden if self.swiglu else hidden, bias=config.bias)
        self.act = None if self.swiglu else ACTIVATIONS[config.activation]
        self.c_proj = nn.Linear(hidden, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        h = self.c_fc(x)
        if self.swiglu:  # h = a | g: silu(a) * g
            a, g = h.chunk(2, dim=-1)
            h = F.silu(a) * g
        else:
            h = self.act(h)
        return self.dropout(self.c_proj(h))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = make_norm(config)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = make_norm(config)
        self.mlp = MLP(config)
        self.pre = config.norm == "pre"

    def forward(self, x, cache=None):
        if self.pre:
            x = x + self.attn(self.ln_1(x), cache)
            x = x + self.mlp(self.ln_2(x))
        else:  # original Transformer: normalize after each residual add
            x = self.ln_1(x + self.attn(x, cache))
            x = self.ln_2(x + self.mlp(x))
        return x


def sinusoidal_table(block_size, C):
    """PE[pos, 2i] = sin(pos / 10000^(2i/C)), PE[pos, 2i+1] = cos(same), float64 -> float32."""
    pos = torch.arange(block_size, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, C, 2, dtype=torch.float64)
    angle = pos / torch.pow(10000.0, two_i / C)  # (block_size, ceil(C/2))
    pe = torch.zeros(block_size, C, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : C // 2])
    return pe.float()


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        config.validate()
        self.config = config
        t = {"wte": nn.Embedding(config.vocab_size, config.n_embd)}  # nanoGPT's order: wte wpe drop h ln_f
        if config.positional == "learned":
            t["wpe"] = nn.Embedding(config.block_size, config.n_embd)
        elif config.positional == "sinusoidal":
            self.register_buffer("pe", sinusoidal_table(config.block_size, config.n_embd), persistent=False)
        t["drop"] = nn.Dropout(config.dropout)
        t["h"] = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        t["ln_f"] = make_norm(config)
        self.transformer = nn.ModuleDict(t)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        if not config.tie_weights:
            torch.nn.init.zeros_(self.lm_head.weight)  # tsgpt's untied head starts at zero
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):  # GPT-2's scaled init of residual projections
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self):
        return sum(p.numel() for p in self.parameters())  # tied wte/lm_head counted once

    def forward(self, idx, targets=None, cache=None, last_only=False):
        B, T = idx.size()
        past = 0 if cache is None else cache.length
        assert past + T <= self.config.block_size, f"sequence {past + T} > block_size {self.config.block_size}"
        tok_emb = self.transformer.wte(idx)  # (B, T, C)
        if self.config.positional == "learned":
            x = tok_emb + self.transformer.wpe(torch.arange(past, past + T, dtype=torch.long))  # + (T, C)
        elif self.config.positional == "sinusoidal":
            x = tok_emb + self.pe[past : past + T]
        else:  # rope: positions act inside attention
            x = tok_emb
        x = self.transformer.drop(x)
        for i, block in enumerate(self.transformer.h):
            x = block(x, None if cache is None else cache.layer(i))
        if cache is not None:
            cache.length += T
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.head(x)  # (B, T, V)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
            return logits, loss
        if last_only:
            return self.head(x[:, [-1], :]), None  # (B, 1, V): all that sampling needs
        return self.head(x), None

    def head(self, x):
        logits = self.lm_head(x)
        cap = self.config.logit_softcap
        return cap * torch.tanh(logits / cap) if cap > 0 else logits

    def configure_optimizers(self, weight_decay, learning_rate, betas, eps=1e-8):
        """nanoGPT's AdamW: weight decay on >= 2-D tensors (matmul weights, embeddings) only."""
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, eps=eps)

    # names: tsgpt's parameters are nanoGPT's, minus a tied lm_head.weight
    def tsgpt_state(self):
        tied = self.config.tie_weights
        return {k: v for k, v in self.state_dict().items() if not (tied and k == "lm_head.weight")}

    def load_tsgpt_state(self, tensors):
        """Load tsgpt- or nanoGPT-named float tensors; a tied lm_head.weight, if given, must equal wte."""
        tensors = dict(tensors)
        head = tensors.pop("lm_head.weight", None) if self.config.tie_weights else None
        if head is not None and not torch.equal(head, tensors.get("transformer.wte.weight", head)):
            raise ValueError("lm_head.weight differs from transformer.wte.weight (tsgpt ties them)")
        want = self.tsgpt_state()
        missing = sorted(set(want) - set(tensors))
        extra = sorted(set(tensors) - set(want))
        if missing or extra:
            raise ValueError(f"weights: missing {missing[:4]} unexpected {extra[:4]}")
        for k, v in tensors.items():
            if tuple(v.shape) != tuple(want[k].shape):
                raise ValueError(f"weights: {k} has shape {tuple(v.shape)}, expected {tuple(want[k].shape)}")
        with torch.no_grad():
            for k, v in tensors.items():
                want[k].copy_(v.to(torch.float32))


class KVCache:
    """Keys and values of every layer, preallocated to block_size: (n_layer, B, nh, block_size, hs).
    Like Hugging Face's past_key_values, but written in place instead of concatenated."""

    def __init__(self, config, batch_size=1):
        hs = config.n_embd // config.n_head
        shape = (config.n_layer, batch_size, config.n_head, config.block_size, hs)
        self.k = torch.zeros(shape)
        self.v = torch.zeros(shape)
        self.length = 0

    def layer(self, i):
        return _LayerCache(self, i)


class _LayerCache:
    def __init__(self, cache, i):
        self.cache, self.i = cache, i

    def append(self, k, v):
        c, past = self.cache, self.cache.length
        T = k.size(2)
        c.k[self.i, :, :, past : past + T] = k
        c.v[self.i, :, :, past : past + T] = v
        return c.k[self.i, :, :, : past + T], c.v[self.i, :, :, : past + T], past


# ----------------------------------------------------------------------------------------
# safetensors (the `safetensors` package is not needed): u64 LE header length, JSON, data

DTYPES = {
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}


def read_safetensors(path):
    """-> (dict name -> tensor, metadata dict). Checks offsets tile the data exactly."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: truncated ({len(raw)} bytes)")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} past end of file ({len(raw)} bytes)")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    data = memoryview(raw)[8 + n :]
    tensors, expected = {}, 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = e["data_offsets"]
        if begin != expected or end > len(data):
            raise ValueError(f"{path}: {name}: bad data_offsets {e['data_offsets']}")
        expected = end
        dtype = DTYPES[e["dtype"]]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(e["shape"])
    if expected != len(data):
        raise ValueError(f"{path}: tensors cover {expected} of {len(data)} data bytes")
    order = list(header)  # keep the file's key order
    return {k: tensors[k] for k in order}, metadata


def write_safetensors(path, tensors, metadata=None):
    """Write tensors (any DTYPES dtype, little-endian) with the header padded to 8 bytes."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        b = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
