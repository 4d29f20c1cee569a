"""The PyTorch side of `npm run bench`: nanoGPT's GPT trained exactly as nanoGPT's train.py
does (AdamW, decay on >= 2-D params only, linear warmup + cosine decay to min_lr, grad clip,
random windows of a token stream), timed; and GPT-2-124M-sized generation with a KV cache.
Only torch (Debian's python3-torch, for /usr/bin/python3; scripts/ensure-torch.sh installs it).
The model is test/pytorch/gpt_torch.py, the same one the parity tests check against tsgpt.
Not a trainer for real use: no checkpoints, no gradient accumulation, no DDP, CPU only.

  /usr/bin/python3 bench/pytorch/train_ref.py --preset baby --text assets/tinyshakespeare.txt --speed 30 --json
  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/pytorch/train_ref.py --preset baby --text ... --iters 2000
  /usr/bin/python3 bench/pytorch/train_ref.py --generate 128 --json     # random GPT-2 124M
  /usr/bin/python3 bench/pytorch/train_ref.py --preset baby --text ... --openblas-coretype default --full-val --json
      # + the val loss over the whole split (every token predicted once) after training

Results go to stdout (--json: one JSON object); progress goes to stderr.
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# nanoGPT's config/train_shakespeare_char.py with the README's CPU overrides (block 64,
# batch 12, 4x4x128, 2000 iters, dropout 0): "baby". Keys are nanoGPT's train.py names.
PRESETS = {
    "baby": dict(
        n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, dropout=0.0, bias=True,
        learning_rate=1e-3, min_lr=1e-4, max_iters=2000, lr_decay_iters=2000, warmup_iters=100,
        weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0, eval_interval=250, eval_iters=20,
    ),
    # GPT-2 small, the generation benchmark's model (random weights unless --weights)
    "gpt2": dict(
        n_layer=12, n_head=12, n_embd=768, block_size=1024, vocab_size=50257, dropout=0.0, bias=True,
        activation="gelu_tanh",
    ),
}
MODEL_KEYS = {"vocab_size", "block_size", "n_layer", "n_head", "n_embd", "dropout", "bias", "positional", "norm",
              "activation"}
TRAIN_KEYS = {"batch_size", "learning_rate", "min_lr", "max_iters", "lr_decay_iters", "warmup_iters",
              "weight_decay", "beta1", "beta2", "grad_clip", "eval_interval", "eval_iters", "seed"}
# tsgpt preset spellings accepted in --preset-json
ALIASES = {"lr": "learning_rate", "min_lr": "min_lr", "iters": "max_iters", "warmup": "warmup_iters",
           "lr_decay": "lr_decay_iters"}


def snake(k):
    s = "".join("_" + c.lower() if c.isupper() else c for c in k)
    return ALIASES.get(s, s)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), help="starting values (baby for training, gpt2 for --generate)")
    p.add_argument("--preset-json", help="JSON object (or @file) of values; camelCase (tsgpt) or snake_case keys")
    for k in sorted(MODEL_KEYS | TRAIN_KEYS):
        kind = {"dropout": float, "learning_rate": float, "min_lr": float, "weight_decay": float, "beta1": float,
                "beta2": float, "grad_clip": float, "positional": str, "norm": str, "activation": str,
                "bias": lambda s: s.lower() in ("1", "true", "yes")}.get(k, int)
        p.add_argument("--" + k.replace("_", "-"), dest=k, type=kind)
    p.add_argument("--iters", dest="max_iters", type=int, help="optimizer steps (= --max-iters)")
    p.add_argument("--lr", dest="learning_rate", type=float)
    p.add_argument("--warmup", dest="warmup_iters", type=int)
    p.add_argument("--text", help="UTF-8 text, char-level vocab (sorted chars), first 90%% train (nanoGPT's prepare.py)")
    p.add_argument("--data", help="dir with train.bin, val.bin (uint16 tokens) and meta.json {\"vocab_size\": N}")
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads and OpenBLAS threads (default: as installed; Debian's torch "
                   "uses 1 intra-op thread here, OpenBLAS one per core)")
    p.add_argument("--blas-threads", type=int, default=None, help="OpenBLAS threads only (default: --threads)")
    p.add_argument("--openblas-coretype", metavar="NAME",
                   help="'default' unsets OPENBLAS_CORETYPE (OpenBLAS detects the CPU itself); NAME sets it, "
                   "e.g. SkylakeX. Without this flag the environment's value is used.")
    p.add_argument("--speed", type=int, metavar="N", help="speed only: N timed steps after --bench-warmup, no evals")
    p.add_argument("--bench-warmup", type=int, default=5, help="untimed steps before timing (default 5)")
    p.add_argument("--generate", type=int, metavar="N", help="generation benchmark: N new tokens with a KV cache")
    p.add_argument("--prompt-len", type=int, default=1, help="prompt tokens for --generate (default 1)")
    p.add_argument("--weights", help="safetensors of tsgpt/nanoGPT-named weights for --generate (default random)")
    p.add_argument("--full-val", action="store_true",
                   help="after training, the loss over the whole val split: consecutive block_size windows, "
                   "the last one shorter, every token but the first predicted once (tsgpt's splitLoss)")
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    return p.parse_args(argv)


def resolve(args):
    """preset <- --preset-json <- individual flags; unknown keys are errors."""
    preset = args.preset or ("gpt2" if args.generate else "baby")
    cfg = dict(PRESETS[preset])
    if args.preset_json:
        text = args.preset_json
        if text.startswith("@"):
            with open(text[1:]) as f:
                text = f.read()
        for k, v in json.loads(text).items():
            key = snake(k)
            if key not in MODEL_KEYS | TRAIN_KEYS:
                sys.exit(f"train_ref.py: --preset-json: unknown key {k!r}")
            cfg[key] = v
    for k in MODEL_KEYS | TRAIN_KEYS:
        if getattr(args, k, None) is not None:
            cfg[k] = getattr(args, k)
    if not args.generate and args.max_iters is not None and args.lr_decay_iters is None:
        cfg["lr_decay_iters"] = cfg["max_iters"]  # as nanoGPT's README does: decay over the whole run
    return preset, cfg


def openblas_call(name, kind):
    """Ask the OpenBLAS torch loaded: the kernel set it picked ('Haswell', 'SkylakeX', ...), its threads."""
    import ctypes

    try:
        fn = getattr(ctypes.CDLL("libopenblas.so.0"), name)
        fn.restype = ctypes.c_char_p if kind == "str" else ctypes.c_int
        r = fn()
        return r.decode() if kind == "str" else r
    except (OSError, AttributeError):
        return None


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main(argv):
    args = parse_args(argv)
    # OpenBLAS sizes its own thread pool at load time: set it before torch is imported
    blas_threads = args.blas_threads or args.threads
    if blas_threads:
        os.environ["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    if args.openblas_coretype == "default":
        os.environ.pop("OPENBLAS_CORETYPE", None)
    elif args.openblas_coretype:
        os.environ["OPENBLAS_CORETYPE"] = args.openblas_coretype
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    sys.path.insert(0, os.path.join(REPO, "test", "pytorch"))
    preset, cfg = resolve(args)
    env = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas_threads": openblas_call("openblas_get_num_threads", "int"),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "default"),
        "openblas_core": openblas_call("openblas_get_corename", "str"),
        "blas": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
    }
    result = generate(torch, args, preset, cfg) if args.generate else train(torch, args, preset, cfg)
    result.update(env)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>20}: {v}")


# ----------------------------------------------------------------------------------------
# training


def load_tokens(torch, args):
    if args.text:
        with open(args.text, encoding="utf-8") as f:
            text = f.read()
        chars = sorted(set(text))
        stoi = {ch: i for i, ch in enumerate(chars)}
        data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
        n = int(0.9 * len(data))
        return data[:n], data[n:], len(chars)
    if args.data:
        with open(os.path.join(args.data, "meta.json")) as f:
            vocab_size = json.load(f)["vocab_size"]

        def read(name):
            with open(os.path.join(args.data, name), "rb") as f:
                buf = bytearray(f.read())
            return torch.frombuffer(buf, dtype=torch.int16).long() & 0xFFFF  # uint16 on disk

        return read("train.bin"), read("val.bin"), vocab_size
    sys.exit("train_ref.py: training needs --text FILE or --data DIR")


def train(torch, args, preset, cfg):
    from gpt_torch import GPT, GPTConfig

    train_data, val_data, vocab_size = load_tokens(torch, args)
    cfg.setdefault("vocab_size", vocab_size)
    if cfg["vocab_size"] < vocab_size:
        sys.exit(f"train_ref.py: vocab_size {cfg['vocab_size']} < {vocab_size} tokens in the data")
    if args.speed is not None:
        cfg["max_iters"] = args.bench_warmup + args.speed
        cfg["eval_iters"] = 0
    torch.manual_seed(cfg.get("seed", 1337))
    model = GPT(GPTConfig(**{k: cfg[k] for k in MODEL_KEYS if k in cfg}))
    model.train()
    B, T = cfg["batch_size"], cfg["block_size"]
    opt = model.configure_optimizers(cfg["weight_decay"], cfg["learning_rate"], (cfg["beta1"], cfg["beta2"]))

    def get_batch(split):
        data = train_data if split == "train" else val_data
        ix = torch.randint(len(data) - T, (B,))
        x = torch.stack([data[i : i + T] for i in ix])
        y = torch.stack([data[i + 1 : i + 1 + T] for i in ix])
        return x, y

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ("train", "val"):
            losses = torch.zeros(cfg["eval_iters"])
            for k in range(cfg["eval_iters"]):
                X, Y = get_batch(split)
                _, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean().item()
        model.train()
        return out

    def get_lr(it):  # nanoGPT train.py: linear warmup, cosine decay to min_lr, then flat
        lr, min_lr, warmup, decay = cfg["learning_rate"], cfg["min_lr"], cfg["warmup_iters"], cfg["lr_decay_iters"]
        if it < warmup:
            return lr * (it + 1) / (warmup + 1)
        if it > decay:
            return min_lr
        ratio = (it - warmup) / max(1, decay - warmup)
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)

    iters, eval_iters, eval_interval = cfg["max_iters"], cfg["eval_iters"], cfg["eval_interval"]
    step_ms, evals, loss = [], [], None
    eval_s = 0.0  # time spent in the periodic evaluations (train_s leaves it out)
    log(f"train_ref: {preset} {json.dumps({k: cfg[k] for k in sorted(cfg)})} params {model.num_params():,}")
    t_start = time.perf_counter()
    X, Y = get_batch("train")
    # nanoGPT's loop: evaluate at multiples of eval_interval (and after the last step)
    for it in range(iters + 1):
        if eval_iters > 0 and (it % eval_interval == 0 or it == iters):
            t_eval = time.perf_counter()
            losses = estimate_loss()
            eval_s += time.perf_counter() - t_eval
            evals.append({"iter": it, "train": losses["train"], "val": losses["val"]})
            log(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        if it == iters:
            break
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = get_lr(it)
        _, loss = model(X, Y)
        X, Y = get_batch("train")  # next batch, as nanoGPT fetches it during the forward
        loss.backward()
        if cfg["grad_clip"] != 0.0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        lossf = loss.item()
        step_ms.append((time.perf_counter() - t0) * 1000)
        if it % 100 == 0 or it == iters - 1:
            log(f"iter {it}: loss {lossf:.4f}, time {step_ms[-1]:.1f}ms")
    wall = time.perf_counter() - t_start
    timed = step_ms[args.bench_warmup :] if len(step_ms) > args.bench_warmup else step_ms
    ms = statistics.median(timed)
    full_val = None
    if args.full_val:
        t_val = time.perf_counter()
        full_val = split_loss(torch, model, val_data, T)
        log(f"val loss over the whole split ({len(val_data) - 1} tokens): {full_val:.4f} "
            f"({time.perf_counter() - t_val:.1f} s)")
    return {
        "mode": "train",
        "preset": preset,
        "config": cfg,
        "params": model.num_params(),
        "iters": iters,
        "timed_iters": len(timed),
        "ms_per_iter": round(ms, 3),
        "ms_per_iter_mean": round(statistics.fmean(timed), 3),
        "ms_per_iter_min": round(min(timed), 3),
        "tokens_per_s": round(B * T / (ms / 1000), 1),
        "train_loss": evals[-1]["train"] if evals else (loss.item() if loss is not None else None),
        "val_loss": evals[-1]["val"] if evals else None,
        "last_batch_loss": loss.item() if loss is not None else None,
        "evals": evals,
        "wall_s": round(wall, 3),
        "train_s": round(wall - eval_s, 3),
        "full_val_loss": full_val,
    }


def split_loss(torch, model, tokens, T, batch=64):
    """Mean loss over the whole split, every token but the first predicted once: consecutive
    windows of T (the last one shorter), each starting without context (tsgpt's splitLoss)."""
    model.eval()
    predicted = len(tokens) - 1
    full = predicted // T
    nats = 0.0
    with torch.no_grad():
        for w0 in range(0, full, batch):
            b = min(batch, full - w0)
            x = tokens[w0 * T : (w0 + b) * T].view(b, T)
            y = tokens[w0 * T + 1 : (w0 + b) * T + 1].view(b, T)
            _, loss = model(x, y)
            nats += loss.item() * b * T
        if predicted > full * T:
            x = tokens[full * T : predicted].view(1, -1)
            y = tokens[full * T + 1 : predicted + 1].view(1, -1)
            _, loss = model(x, y)
            nats += loss.item() * (predicted - full * T)
    model.train()
    return nats / predicted


# ----------------------------------------------------------------------------------------
# generation


def generate(torch, args, preset, cfg):
    from gpt_torch import GPT, GPTConfig, KVCache, read_safetensors

    config = GPTConfig(**{k: cfg[k] for k in MODEL_KEYS if k in cfg})
    N, P = args.generate, args.prompt_len
    if P + N > config.block_size:
        sys.exit(f"train_ref.py: prompt {P} + {N} new tokens > block_size {config.block_size}")
    torch.manual_seed(cfg.get("seed", 1337))
    t0 = time.perf_counter()
    model = GPT(config)
    if args.weights:
        tensors, _ = read_safetensors(args.weights)
        model.load_tsgpt_state(tensors)
        del tensors
    model.eval()
    load_s = time.perf_counter() - t0
    log(f"train_ref: generate {N} tokens, {preset} params {model.num_params():,} (model ready in {load_s:.1f}s)")
    prompt = torch.randint(config.vocab_size, (1, P))

    @torch.inference_mode()
    def run(n):
        cache = KVCache(config)
        t0 = time.perf_counter()
        logits, _ = model(prompt, cache=cache, last_only=True)  # prefill
        t1 = time.perf_counter()
        out = []
        for _ in range(n):
            nxt = logits[:, -1, :].argmax(dim=-1, keepdim=True)  # greedy: timing, not text
            out.append(nxt.item())
            logits, _ = model(nxt, cache=cache, last_only=True)
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, out

    run(min(4, N))  # warm up allocator and BLAS threads
    prefill_s, decode_s, tokens = run(N)
    return {
        "mode": "generate",
        "preset": preset,
        "config": cfg,
        "params": model.num_params(),
        "prompt_len": P,
        "new_tokens": N,
        "tokens_per_s": round(N / decode_s, 2),
        "ms_per_token": round(1000 * decode_s / N, 3),
        "prefill_ms": round(1000 * prefill_s, 3),
        "model_load_s": round(load_s, 3),
        "weights": args.weights or "random",
        "first_tokens": tokens[:8],
    }


if __name__ == "__main__":
    main(sys.argv[1:])
