"""Continue training a tsgpt model in PyTorch with DistributedDataParallel, for when one machine
is not enough: `tsgpt export --format hf` writes the model, this script trains it on N processes
(torchrun; gloo on CPU, nccl on GPUs; one machine or several), and `tsgpt import hf` brings the
result back to sample and evaluate. Not a copy of nanoGPT's train.py: its loop (cosine schedule
with warm-up, AdamW with decay on matrices only, gradient clipping, gradient accumulation with
no_sync), on tsgpt's prepared data and tsgpt's GPT in PyTorch (test/pytorch/gpt_torch.py).

  tsgpt export --ckpt out/baby/ckpt.safetensors --format hf exported/baby
  python3 scripts/ddp/train_ddp.py --nproc 2 --init exported/baby --data data/tinyshakespeare \\
      --out exported/baby-ddp --max-iters 500
  tsgpt import hf exported/baby-ddp --out out/baby-ddp.safetensors
  tsgpt sample --ckpt out/baby-ddp.safetensors

--nproc N starts N processes on this machine through torchrun (the script re-runs itself under
it); under torchrun yourself (several machines: --nnodes, --node_rank, --master_addr,
--master_port) leave --nproc out. Each process takes --batch-size rows of every step, so a step
trains on nproc * batch_size * grad_accum sequences; the gradients are averaged across processes
by DDP's all-reduce during backward. The export holds the weights only: AdamW starts fresh
(moments at zero), with the warm-up given here.

Writes OUT/model.safetensors + OUT/config.json (the export's layout) + OUT/tsgpt-tokenizer.json
(copied), OUT/log.jsonl (one JSON object per step from rank 0: step, loss averaged over the
ranks, lr) and OUT/first_batch.json (every rank's first batch and the first step's loss, which
tsgpt's tests recompute).
"""

import argparse
import json
import math
import os
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "test", "pytorch"))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--init", required=True, help="a `tsgpt export --format hf` directory")
    p.add_argument("--data", required=True, help="a `tsgpt prepare` directory (train.bin, val.bin, meta.json)")
    p.add_argument("--out", required=True, help="where to write the trained model (the export's layout)")
    p.add_argument("--nproc", type=int, default=None, help="start this many processes here with torchrun")
    p.add_argument("--max-iters", type=int, default=100, help="optimizer steps (default 100)")
    p.add_argument("--batch-size", type=int, default=12, help="sequences per process per micro-step (default 12)")
    p.add_argument("--block-size", type=int, default=None, help="context (default: the model's)")
    p.add_argument("--grad-accum", type=int, default=1, help="micro-steps per optimizer step (default 1)")
    p.add_argument("--learning-rate", type=float, default=1e-4, help="peak learning rate (default 1e-4)")
    p.add_argument("--min-lr", type=float, default=1e-5)
    p.add_argument("--warmup-iters", type=int, default=10)
    p.add_argument("--lr-decay-iters", type=int, default=None, help="default: --max-iters")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--dropout", type=float, default=None, help="default: the export's (config.json resid_pdrop)")
    p.add_argument("--seed", type=int, default=1337, help="rank r draws its batches from seed + r")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--log-interval", type=int, default=10)
    return p.parse_args(argv)


def relaunch_under_torchrun(args, argv):
    """--nproc N outside torchrun: run this script again under torchrun with N processes."""
    torchrun = shutil.which("torchrun")
    if torchrun is None:
        sys.stderr.write(
            "train_ddp.py: torchrun not found on PATH (it comes with PyTorch: pip install torch, or "
            "apt install python3-torch); without it, run one process: leave out --nproc\n"
        )
        sys.exit(1)
    rest = []
    skip = False
    for a in argv:  # argv without --nproc N
        if skip:
            skip = False
            continue
        if a == "--nproc":
            skip = True
            continue
        if a.startswith("--nproc="):
            continue
        rest.append(a)
    cmd = [torchrun, "--standalone", f"--nproc_per_node={args.nproc}"]
    if _std_flags_broken():
        cmd += ["--redirects", "1", "--tee", "1"]
    os.execv(torchrun, [*cmd, os.path.abspath(__file__), *rest])


def _std_flags_broken():
    """torchrun of PyTorch < 2 on Python >= 3.11 cannot parse its default --redirects/--tee
    ("0": Python 3.11 no longer lists a Flag's zero member), so they are given as 1 (stdout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major = int(version("torch").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return False
    return sys.version_info >= (3, 11) and major < 2


# ---- the export's layout (Hugging Face GPT2LMHeadModel, what `tsgpt export --format hf` writes) ----

CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu"}


def config_from_export(cfg_json, dropout):
    from gpt_torch import GPTConfig

    act = cfg_json.get("activation_function", "gelu_new")
    if act not in ACTIVATIONS:
        raise SystemExit(f"train_ddp.py: config.json activation_function {act!r} is not supported")
    return GPTConfig(
        vocab_size=cfg_json["vocab_size"],
        block_size=cfg_json.get("n_positions", cfg_json.get("n_ctx")),
        n_layer=cfg_json["n_layer"],
        n_head=cfg_json["n_head"],
        n_embd=cfg_json["n_embd"],
        dropout=cfg_json.get("resid_pdrop", 0.0) if dropout is None else dropout,
        bias=True,
        positional="learned",
        norm="pre",
        activation=ACTIVATIONS[act],
    )


def load_export(path, dropout):
    from gpt_torch import GPT, read_safetensors

    with open(os.path.join(path, "config.json")) as f:
        cfg_json = json.load(f)
    config = config_from_export(cfg_json, dropout)
    tensors, _ = read_safetensors(os.path.join(path, "model.safetensors"))
    state = {}
    for name, t in tensors.items():
        if name == "lm_head.weight":
            continue  # tied to wte
        key = name if name.startswith("transformer.") else "transformer." + name
        state[key] = t.t().contiguous() if key.endswith(CONV1D) else t  # Conv1D (in, out) -> Linear
    model = GPT(config)
    model.load_tsgpt_state(state)
    return model, config, cfg_json


def save_export(model, cfg_json, init_dir, out_dir):
    from gpt_torch import write_safetensors

    os.makedirs(out_dir, exist_ok=True)
    tensors = {}
    for name, t in model.tsgpt_state().items():
        tensors[name] = t.t().contiguous() if name.endswith(CONV1D) else t
    tensors["lm_head.weight"] = tensors["transformer.wte.weight"]
    tmp = os.path.join(out_dir, "model.safetensors.tmp")
    write_safetensors(tmp, tensors, {"format": "pt"})
    os.replace(tmp, os.path.join(out_dir, "model.safetensors"))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg_json, f, indent=2)
        f.write("\n")
    tok = os.path.join(init_dir, "tsgpt-tokenizer.json")
    if os.path.exists(tok):
        shutil.copyfile(tok, os.path.join(out_dir, "tsgpt-tokenizer.json"))


# ---- data: a tsgpt prepared dataset ----


def load_tokens(data_dir, split):
    import numpy as np

    with open(os.path.join(data_dir, "meta.json")) as f:
        meta = json.load(f)
    dtype = {"uint16": np.uint16, "uint32": np.uint32}[meta["dtype"]]
    return np.memmap(os.path.join(data_dir, f"{split}.bin"), dtype=dtype, mode="r"), meta


def get_batch(tokens, batch_size, block_size, gen):
    import numpy as np
    import torch

    ix = torch.randint(len(tokens) - block_size, (batch_size,), generator=gen)
    x = torch.stack([torch.from_numpy(tokens[i : i + block_size].astype(np.int64)) for i in ix.tolist()])
    y = torch.stack([torch.from_numpy(tokens[i + 1 : i + 1 + block_size].astype(np.int64)) for i in ix.tolist()])
    return x, y


def lr_at(it, a):
    """nanoGPT's schedule: linear warm-up, cosine decay to min_lr, then min_lr."""
    decay = a.lr_decay_iters or a.max_iters
    if it < a.warmup_iters:
        return a.learning_rate * (it + 1) / (a.warmup_iters + 1)
    if it > decay:
        return a.min_lr
    ratio = (it - a.warmup_iters) / max(1, decay - a.warmup_iters)
    return a.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (a.learning_rate - a.min_lr)


def main(argv):
    args = parse_args(argv)
    under_torchrun = "LOCAL_RANK" in os.environ
    if args.nproc is not None and not under_torchrun:
        if args.nproc < 1:
            raise SystemExit(f"train_ddp.py: --nproc {args.nproc} must be at least 1")
        relaunch_under_torchrun(args, argv)

    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    ddp = int(os.environ.get("WORLD_SIZE", "1")) > 1
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if ddp:
        # gloo runs on CPUs, nccl on NVIDIA GPUs (one process per GPU)
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device.startswith("cuda"):
            device = f"cuda:{local}"
            torch.cuda.set_device(device)
    else:
        rank, world = 0, 1
    master = rank == 0

    model, config, cfg_json = load_export(args.init, args.dropout)
    block = args.block_size or config.block_size
    if block > config.block_size:
        raise SystemExit(f"train_ddp.py: --block-size {block} exceeds the model's {config.block_size}")
    train, meta = load_tokens(args.data, "train")
    if meta["vocabSize"] != config.vocab_size:
        raise SystemExit(
            f"train_ddp.py: {args.data} has a vocabulary of {meta['vocabSize']}, the model {config.vocab_size}"
        )
    model.to(device)
    model.train()
    raw = model
    if ddp:
        # the causal masks are fixed bool buffers, the same on every rank: not broadcast (gloo
        # cannot broadcast bool tensors)
        fixed = [n for n, _ in model.named_buffers() if n.endswith(".mask")]
        DDP._set_params_and_buffers_to_ignore_for_model(model, fixed)
        model = DDP(model, device_ids=[local] if device.startswith("cuda") else None, broadcast_buffers=False)
    opt = raw.configure_optimizers(args.weight_decay, args.learning_rate, (args.beta1, args.beta2))
    gen = torch.Generator().manual_seed(args.seed + rank)  # each rank its own batches

    log = None
    if master:
        os.makedirs(args.out, exist_ok=True)
        log = open(os.path.join(args.out, "log.jsonl"), "w")
    for it in range(args.max_iters):
        lr = lr_at(it, args)
        for g in opt.param_groups:
            g["lr"] = lr
        total = torch.zeros((), device=device)
        for micro in range(args.grad_accum):
            x, y = get_batch(train, args.batch_size, block, gen)
            x, y = x.to(device), y.to(device)
            # only the last micro-step all-reduces: the others just accumulate locally (no_sync)
            last = micro == args.grad_accum - 1
            ctx = model.no_sync() if ddp and not last else _nullcontext()
            with ctx:
                _, loss = model(x, y)
                (loss / args.grad_accum).backward()
            total += loss.detach() / args.grad_accum
            if it == 0 and micro == 0:
                first = (x.cpu(), y.cpu(), loss.detach().cpu())
        if args.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(raw.parameters(), args.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if ddp:
            dist.all_reduce(total, op=dist.ReduceOp.SUM)
            total /= world
        if it == 0:
            save_first_batch(args.out, first, device, ddp, world, master)
        if master:
            log.write(json.dumps({"step": it + 1, "loss": total.item(), "lr": lr, "world": world}) + "\n")
            log.flush()
            if it % args.log_interval == 0 or it == args.max_iters - 1:
                print(f"step {it + 1}/{args.max_iters}: loss {total.item():.4f}, lr {lr:.2e} ({world} processes)", flush=True)
    if master:
        log.close()
        save_export(raw, cfg_json, args.init, args.out)
        print(f"wrote {args.out}: model.safetensors, config.json, tsgpt-tokenizer.json, log.jsonl", flush=True)
    if ddp:
        dist.destroy_process_group()


def save_first_batch(out, first, device, ddp, world, master):
    """Every rank's first micro-batch, gathered to rank 0, and its loss averaged over the ranks
    (the mean over all of those rows: each rank's loss is the mean of as many tokens)."""
    import torch
    import torch.distributed as dist

    x, y, loss = (t.to(device) for t in first)
    if ddp:
        xs = [torch.empty_like(x) for _ in range(world)]
        ys = [torch.empty_like(y) for _ in range(world)]
        dist.all_gather(xs, x)
        dist.all_gather(ys, y)
        x, y = torch.cat(xs), torch.cat(ys)
        dist.all_reduce(loss, op=dist.ReduceOp.SUM)
        loss = loss / world
    if master:
        with open(os.path.join(out, "first_batch.json"), "w") as f:
            json.dump({"x": x.cpu().tolist(), "y": y.cpu().tolist(), "loss": loss.item(), "world": world}, f)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main(sys.argv[1:])
