"""Write tiny random-weight checkpoints of every built-in architecture into a folder.

Only for trying the container pipeline before the trained checkpoints exist
(``scripts/container-test.sh --tiny-models``): the models load and trace, but their
predictions are noise. The tokenizer is copied from models/checkpoints/.

    python tests/container/make_tiny_checkpoints.py OUT_DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch

from models.checkpoint import ARCHS, CHECKPOINT_DIR, TOKENIZER_FILE, build_net, net_config, save_checkpoint
from models.tokenizer import Tokenizer

TINY: dict[str, dict[str, object]] = {
    "transformer": {"n_layers": 2, "n_heads": 2, "d_model": 16, "d_mlp": 32, "n_ctx": 64},
    "lstm": {"n_layers": 2, "d_embed": 8, "d_hidden": 12, "n_ctx": 64},
    "gru": {"n_layers": 2, "d_embed": 8, "d_hidden": 12, "n_ctx": 64},
    "rnn": {"n_layers": 2, "d_embed": 8, "d_hidden": 12, "n_ctx": 64},
}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CHECKPOINT_DIR / TOKENIZER_FILE, out / TOKENIZER_FILE)
    vocab = Tokenizer.from_file(out / TOKENIZER_FILE).vocab_size
    torch.manual_seed(0)
    for arch in ARCHS:
        net = build_net(arch, {**TINY[arch], "d_vocab": vocab})
        n_params = sum(p.numel() for p in net.parameters())
        card = {
            "name": arch,
            "arch": arch,
            "family": arch,
            "config": net_config(net),
            "n_params": n_params,
            "metrics": {},
        }
        save_checkpoint(out, arch, net, card)
        print(f"{arch}: {n_params:,} params -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
