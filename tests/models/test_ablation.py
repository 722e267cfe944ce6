"""``models.ablation``: a head whose output the model never uses costs nothing when zeroed, the
others do, and the hooks are gone afterwards."""

from __future__ import annotations

import torch

from models.ablation import head_ablation_costs
from models.tokenizer import Tokenizer
from tests.tiny import TRANSFORMER, tiny_net

TEXT = "The cat sat on the mat, and the dog sat on the log, and the cat saw the dog. " * 3


def test_a_head_the_output_ignores_costs_nothing_and_the_others_cost_something(tokenizer: Tokenizer) -> None:
    config = TRANSFORMER
    net = tiny_net("transformer", config, seed=3)
    net.eval()
    d_head = config["d_model"] // config["n_heads"]
    with torch.no_grad():
        net.blocks[1].attn.proj.weight[:, :d_head] = 0.0  # layer 1, head 0 writes nothing
    ids = torch.tensor(tokenizer.encode_ids(TEXT))
    costs = head_ablation_costs(net, ids, tokenizer.eot_id, window=32)
    assert costs.shape == (config["n_layers"], config["n_heads"])
    assert costs[1, 0] == 0.0
    others = torch.cat([costs[0], costs[1, 1:]])
    assert (others.abs() > 1e-4).all()
    assert all(not block.attn.proj._forward_pre_hooks for block in net.blocks)
