"""PyTorch reference for the models before GPT (test/models-parity.test.ts): the same weights and
batch through torch.nn.RNN / LSTM / GRU (and the bigram and MLP models written with torch.nn)
-> logits, loss, every gradient, and for the recurrent ones the last layer's outputs and each
layer's final state, in float32, written as safetensors. Not a test by itself: the TypeScript
test writes the inputs, runs this, and compares.

Usage (always Debian's interpreter, which has torch):
  /usr/bin/python3 test/pytorch/models_reference.py WEIGHTS.safetensors SPEC.json OUT.safetensors

WEIGHTS: tsgpt-named float tensors. The recurrent models' names are torch's own
  (wte.weight, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0, ...,
  lm_head.weight, lm_head.bias): load_state_dict takes them as they are.
SPEC: {"arch": "bigram" | "mlp" | "rnn" | "lstm" | "gru", "config": {the arch's model keys},
  "idx": [[int]] (B, T), "targets": [[int]] (B, T), -1 = ignored}
OUT (float32): "logits" (B, T, V), "loss" (), "grad/<name>" for every parameter; recurrent
  models also "output" (B, T, H) and "h_n" (L, B, H) (and "c_n" for the LSTM).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from gpt_torch import read_safetensors, write_safetensors  # noqa: E402


class Bigram(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocabSize"], c["vocabSize"])

    def forward(self, idx):
        return self.wte(idx), None


class MLP(nn.Module):
    """Bengio et al. 2003 as tsgpt's src/model/mlp.ts: row V of wte pads before the window."""

    def __init__(self, c):
        super().__init__()
        self.V, self.n, self.C = c["vocabSize"], c["context"], c["nEmbd"]
        self.wte = nn.Embedding(self.V + 1, self.C)
        self.hidden = nn.Linear(self.n * self.C, c["nHidden"])
        self.lm_head = nn.Linear(c["nHidden"], self.V)

    def forward(self, idx):
        B, T = idx.shape
        windows = F.pad(idx, (self.n - 1, 0), value=self.V).unfold(1, self.n, 1)  # (B, T, n)
        x = self.wte(windows).view(B, T, self.n * self.C)
        return self.lm_head(torch.tanh(self.hidden(x))), None


class Recurrent(nn.Module):
    """Embedding -> torch's nn.RNN / nn.LSTM / nn.GRU (batch_first) -> Linear."""

    def __init__(self, arch, c):
        super().__init__()
        V, C, H, L = c["vocabSize"], c["nEmbd"], c["nHidden"], c["nLayer"]
        self.wte = nn.Embedding(V, C)
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[arch]
        extra = {"nonlinearity": "tanh"} if arch == "rnn" else {}
        self.rnn = layer(C, H, num_layers=L, batch_first=True, dropout=c["dropout"], **extra)
        self.lm_head = nn.Linear(H, V)

    def forward(self, idx):
        out, state = self.rnn(self.wte(idx))
        return self.lm_head(out), (out, state)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: models_reference.py WEIGHTS.safetensors SPEC.json OUT.safetensors")
    weights_path, spec_path, out_path = argv
    with open(spec_path) as f:
        spec = json.load(f)
    arch, c = spec["arch"], spec["config"]
    if c.get("dropout", 0) != 0:
        sys.exit("models_reference.py: parity needs dropout 0 (random masks differ)")
    torch.manual_seed(0)
    if arch == "bigram":
        model = Bigram(c)
    elif arch == "mlp":
        model = MLP(c)
    else:
        model = Recurrent(arch, c)
    tensors, _ = read_safetensors(weights_path)
    model.load_state_dict(tensors, strict=True)
    model.train()

    idx = torch.tensor(spec["idx"], dtype=torch.long)
    targets = torch.tensor(spec["targets"], dtype=torch.long)
    logits, extra = model(idx)
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
    loss.backward()
    out = {"logits": logits.detach(), "loss": loss.detach().reshape(())}
    for name, p in model.named_parameters():
        out[f"grad/{name}"] = p.grad.detach().clone()
    if extra is not None:
        output, state = extra
        out["output"] = output.detach()
        if arch == "lstm":
            out["h_n"], out["c_n"] = state[0].detach(), state[1].detach()
        else:
            out["h_n"] = state.detach()
    write_safetensors(out_path, {k: v.contiguous() for k, v in out.items()}, {"torch": torch.__version__})


if __name__ == "__main__":
    main(sys.argv[1:])
