"""Recurrent traces against PyTorch's own LSTM/GRU/RNN modules and the cell equations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from models.lm import LanguageModel

TEXT = "Call me Ishmael. Some years ago, never mind how long precisely, I went to sea."
RECURRENT = ("lstm", "gru", "rnn")
TORCH_MODULE = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
TORCH_CELL = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}
PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
TOL = {"atol": 1e-5, "rtol": 1e-5}


def _tensor(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(x))


def _embeddings(lm: LanguageModel, ids: tuple[int, ...]) -> torch.Tensor:
    return lm.net.wte.weight.detach()[torch.tensor(ids)]  # [T, d_embed]


def _load_layer(module: nn.Module, layer: nn.Module, suffix: str) -> None:
    with torch.no_grad():
        for name in PARAMS:
            getattr(module, f"{name}{suffix}").copy_(getattr(layer, f"{name}_l0"))


@pytest.mark.parametrize("cell", RECURRENT)
def test_all_layers_equal_multilayer_torch_module_with_same_weights(
    cell: str, tiny_models: dict[str, LanguageModel]
) -> None:
    lm = tiny_models[cell]
    cfg, trace = lm.net.cfg, lm.trace(TEXT)
    ref = TORCH_MODULE[cell](cfg.d_embed, cfg.d_hidden, num_layers=cfg.n_layers, batch_first=True)
    for k, layer in enumerate(lm.net.layers):
        _load_layer(ref, layer, f"_l{k}")
    ref.eval()
    with torch.no_grad():
        output, final = ref(_embeddings(lm, trace.tokens["input"].ids)[None])
    h = _tensor(trace.states["h"])  # [L, T, d_hidden]
    torch.testing.assert_close(h[-1], output[0], **TOL)
    h_n, c_n = final if cell == "lstm" else (final, None)
    torch.testing.assert_close(h[:, -1], h_n[:, 0], **TOL)
    if c_n is not None:
        torch.testing.assert_close(_tensor(trace.states["c"])[:, -1], c_n[:, 0], **TOL)


@pytest.mark.parametrize("cell", RECURRENT)
def test_every_layer_and_step_equals_single_layer_torch_modules(
    cell: str, tiny_models: dict[str, LanguageModel]
) -> None:
    lm = tiny_models[cell]
    cfg, trace = lm.net.cfg, lm.trace(TEXT)
    x = _embeddings(lm, trace.tokens["input"].ids)[None]
    for k, layer in enumerate(lm.net.layers):
        ref = TORCH_MODULE[cell](x.shape[-1], cfg.d_hidden, batch_first=True)
        _load_layer(ref, layer, "_l0")
        with torch.no_grad():
            x = ref(x)[0]  # fed its own output, not the trace's, to the next layer
        torch.testing.assert_close(_tensor(trace.states["h"][k]), x[0], **TOL, msg=f"layer {k}")


@pytest.mark.parametrize("cell", RECURRENT)
def test_every_state_equals_torch_cell_stepped_through_time(
    cell: str, tiny_models: dict[str, LanguageModel]
) -> None:
    lm = tiny_models[cell]
    cfg, trace = lm.net.cfg, lm.trace(TEXT)
    x = _embeddings(lm, trace.tokens["input"].ids)
    for k, layer in enumerate(lm.net.layers):
        ref = TORCH_CELL[cell](x.shape[-1], cfg.d_hidden)
        _load_layer(ref, layer, "")
        h = torch.zeros(cfg.d_hidden)
        c = torch.zeros(cfg.d_hidden)
        hs, cs = [], []
        with torch.no_grad():
            for x_t in x:
                if cell == "lstm":
                    h, c = ref(x_t, (h, c))
                    cs.append(c)
                else:
                    h = ref(x_t, h)
                hs.append(h)
        x = torch.stack(hs)
        torch.testing.assert_close(_tensor(trace.states["h"][k]), x, **TOL)
        if cell == "lstm":
            torch.testing.assert_close(_tensor(trace.states["c"][k]), torch.stack(cs), **TOL)


def test_lstm_trace_satisfies_cell_equations(tiny_models: dict[str, LanguageModel]) -> None:
    trace = tiny_models["lstm"].trace(TEXT)
    i, f, g, o = (trace.gates[k].astype(np.float64) for k in "ifgo")
    h, c = trace.states["h"].astype(np.float64), trace.states["c"].astype(np.float64)
    c_prev = np.concatenate([np.zeros_like(c[:, :1]), c[:, :-1]], axis=1)  # c_{-1} = 0
    np.testing.assert_allclose(c, f * c_prev + i * g, atol=1e-6)
    np.testing.assert_allclose(h, o * np.tanh(c), atol=1e-6)


def test_gru_trace_satisfies_update_equation(tiny_models: dict[str, LanguageModel]) -> None:
    trace = tiny_models["gru"].trace(TEXT)
    z, n = trace.gates["z"].astype(np.float64), trace.gates["n"].astype(np.float64)
    h = trace.states["h"].astype(np.float64)
    h_prev = np.concatenate([np.zeros_like(h[:, :1]), h[:, :-1]], axis=1)  # h_{-1} = 0
    np.testing.assert_allclose(h, (1 - z) * n + z * h_prev, atol=1e-6)


GATE_RANGES = {"i": (0, 1), "f": (0, 1), "o": (0, 1), "r": (0, 1), "z": (0, 1), "g": (-1, 1), "n": (-1, 1)}


@pytest.mark.parametrize("cell", RECURRENT)
def test_gates_and_hidden_states_stay_in_range(cell: str, tiny_models: dict[str, LanguageModel]) -> None:
    trace = tiny_models[cell].trace(TEXT)
    for name, gate in trace.gates.items():
        low, high = GATE_RANGES[name]
        assert ((gate >= low) & (gate <= high)).all(), name
        assert gate.std() > 0.01, f"gate {name} is constant; the test weights are too small"
    assert (np.abs(trace.states["h"]) <= 1).all()
