"""PyTorch reference for tsgpt's generation test: greedy decoding as nanoGPT's generate() does
it, feeding the model the last block_size tokens at every step (idx[:, -block_size:]), no KV
cache. Not a test by itself: test/pytorch-parity.test.ts writes the inputs and compares.

Usage: /usr/bin/python3 test/pytorch/generate_ref.py WEIGHTS.safetensors SPEC.json
SPEC: {"config": {tsgpt's model config}, "prompt": [int], "new": N}. Prints a JSON list of N ids.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from gpt_torch import GPT, GPTConfig, read_safetensors  # noqa: E402


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: generate_ref.py WEIGHTS.safetensors SPEC.json")
    with open(argv[1]) as f:
        spec = json.load(f)
    config = GPTConfig.from_tsgpt(spec["config"])
    model = GPT(config)
    model.load_tsgpt_state(read_safetensors(argv[0])[0])
    model.eval()
    idx = torch.tensor([spec["prompt"]], dtype=torch.long)
    with torch.no_grad():
        for _ in range(spec["new"]):
            logits, _ = model(idx[:, -config.block_size :], last_only=True)  # nanoGPT's crop
            idx = torch.cat([idx, logits[:, -1, :].argmax(dim=-1, keepdim=True)], dim=1)
    print(json.dumps(idx[0, len(spec["prompt"]) :].tolist()))


if __name__ == "__main__":
    main(sys.argv[1:])
