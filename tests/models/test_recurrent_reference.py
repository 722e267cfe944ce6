"""``RecurrentLM.forward_trace`` against an independent step-by-step loop over the cell equations.

The reference below steps through time one token at a time in float64, written from PyTorch's
documented equations and gate layout (LSTM rows i, f, g, o; GRU rows r, z, n), and shares no
code with ``models.recurrent``. Every layer's h, the LSTM's c and every gate must agree with it
to float32 precision, on the tiny random models and on the shipped checkpoints.
"""

from __future__ import annotations

import pytest
import torch

from models.checkpoint import CHECKPOINT_DIR, TOKENIZER_FILE
from models.lm import LanguageModel, load_model
from models.recurrent import RecurrentLM
from models.tokenizer import Tokenizer

TEXT = "Call me Ishmael. Some years ago, never mind how long precisely, I went to sea."
RECURRENT = ("lstm", "gru", "rnn")
TOL = {"atol": 1e-5, "rtol": 1e-5}
STATES = {"lstm": ("h", "c"), "gru": ("h",), "rnn": ("h",)}
SHIPPED_TOKENS = 256


def _reference(net: RecurrentLM, idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every layer's h (and c) and gates, [n_layers, T, d_hidden], stepped one token at a time."""
    cell, d = net.cfg.cell, net.cfg.d_hidden
    x = net.wte.weight.detach().double()[idx[0]]  # [T, d_embed]
    per_layer: list[dict[str, torch.Tensor]] = []
    for layer in net.layers:
        w_ih, w_hh, b_ih, b_hh = (
            getattr(layer, f"{n}_l0").detach().double()
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        h, c = torch.zeros(d, dtype=torch.float64), torch.zeros(d, dtype=torch.float64)
        out: dict[str, list[torch.Tensor]] = {k: [] for k in STATES[cell] + RecurrentLM.gates_by_cell[cell]}
        for x_t in x:
            xw, hw = w_ih @ x_t + b_ih, w_hh @ h + b_hh
            if cell == "lstm":
                pre = xw + hw
                i, f, o = (torch.sigmoid(pre[k * d : (k + 1) * d]) for k in (0, 1, 3))
                g = torch.tanh(pre[2 * d : 3 * d])
                c = f * c + i * g
                h = o * torch.tanh(c)
                step = {"h": h, "c": c, "i": i, "f": f, "g": g, "o": o}
            elif cell == "gru":
                r = torch.sigmoid(xw[:d] + hw[:d])
                z = torch.sigmoid(xw[d : 2 * d] + hw[d : 2 * d])
                n = torch.tanh(xw[2 * d :] + r * hw[2 * d :])
                h = (1 - z) * n + z * h
                step = {"h": h, "r": r, "z": z, "n": n}
            else:
                h = torch.tanh(xw + hw)
                step = {"h": h}
            for name, value in step.items():
                out[name].append(value)
        layer_out = {k: torch.stack(v) for k, v in out.items()}
        per_layer.append(layer_out)
        x = layer_out["h"]  # the next layer reads the reference's own output
    return {k: torch.stack([p[k] for p in per_layer]) for k in per_layer[0]}


def _trace(net: RecurrentLM, idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    with torch.inference_mode():
        logits, internals = net.forward_trace(idx)
    return logits, {**internals["states"], **internals["gates"]}


def _assert_matches_reference(net: RecurrentLM, idx: torch.Tensor) -> None:
    logits, got = _trace(net, idx)
    ref = _reference(net, idx)
    assert list(got) == list(ref)
    for name, value in got.items():
        torch.testing.assert_close(value.double(), ref[name], **TOL, msg=lambda m, k=name: f"{k}: {m}")
    with torch.inference_mode():
        ref_logits = net.unembed(ref["h"][-1].float())
    torch.testing.assert_close(logits, ref_logits, **TOL)


def _ids(n: int, vocab: int, seed: int) -> torch.Tensor:
    return torch.randint(0, vocab, (1, n), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cell", RECURRENT)
def test_trace_equals_step_by_step_reference(cell: str, tiny_models: dict[str, LanguageModel]) -> None:
    lm = tiny_models[cell]
    idx = torch.tensor([lm.tokenizer.encode(TEXT).ids])
    _assert_matches_reference(lm.net, idx)


@pytest.mark.parametrize("cell", RECURRENT)
@pytest.mark.parametrize("n_tokens", [1, 2, 300])
def test_trace_equals_reference_for_one_token_and_long_texts(
    cell: str, n_tokens: int, tiny_models: dict[str, LanguageModel]
) -> None:
    """One token (h_{t-1} is only the zero start), and a scan far longer than the test text."""
    net = tiny_models[cell].net
    _assert_matches_reference(net, _ids(n_tokens, net.cfg.d_vocab, seed=n_tokens))


@pytest.mark.parametrize("cell", RECURRENT)
def test_trace_returns_float32_layers_time_hidden_tensors(
    cell: str, tiny_models: dict[str, LanguageModel]
) -> None:
    net = tiny_models[cell].net
    cfg, n_tokens = net.cfg, 7
    logits, internals = net.forward_trace(_ids(n_tokens, cfg.d_vocab, seed=1))  # autograd on, too
    assert set(internals) == {"states", "gates"}
    assert tuple(internals["states"]) == STATES[cell]
    assert tuple(internals["gates"]) == RecurrentLM.gates_by_cell[cell]
    assert logits.shape == (n_tokens, cfg.d_vocab) and logits.dtype == torch.float32
    for value in (*internals["states"].values(), *internals["gates"].values()):
        assert value.shape == (cfg.n_layers, n_tokens, cfg.d_hidden)
        assert value.dtype == torch.float32
        assert value.is_contiguous()


@pytest.mark.parametrize("cell", RECURRENT)
def test_shipped_checkpoint_trace_equals_reference(cell: str) -> None:
    """The trained weights, whose LSTM cell states grow to hundreds, over 256 tokens of text."""
    if not (CHECKPOINT_DIR / f"{cell}.safetensors").is_file():
        pytest.skip(f"{cell} checkpoint not trained yet")
    tokenizer = Tokenizer.from_file(CHECKPOINT_DIR / TOKENIZER_FILE)
    ids = tokenizer.encode(" ".join([TEXT] * 20)).ids[:SHIPPED_TOKENS]
    assert len(ids) == SHIPPED_TOKENS
    _assert_matches_reference(load_model(cell, CHECKPOINT_DIR, tokenizer).net, torch.tensor([ids]))
