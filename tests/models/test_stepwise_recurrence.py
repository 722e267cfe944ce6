"""``recurrence_steps`` and ``memory_horizon`` against an independent float64 loop over the cell
equations written here (no code shared with ``models.recurrent`` or ``models.stepwise``), and
each step's identity with the states the trace computed, to 1e-5; the horizon against plain
products of the trace's gates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from models.checkpoint import CHECKPOINT_DIR
from models.errors import MissingPartError, OptionError
from models.lm import LanguageModel, load_model
from models.stepwise import memory_horizon, recurrence_steps

TEXT = "Call me Ishmael. Some years ago, never mind how long precisely, I went to sea."
RECURRENT = ("lstm", "gru", "rnn")
GATES = {"lstm": "ifgo", "gru": "rzn", "rnn": "h"}
TOL = {"atol": 1e-5, "rtol": 1e-5}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _reference(lm: LanguageModel, text: str) -> list[list[dict[str, np.ndarray]]]:
    """[layer][t]: x, h_prev, c_prev and, per gate, its two halves, pre-activation and value,
    then c and h, stepped one token at a time in float64."""
    net, cell = lm.net, lm.spec.architecture
    d = net.cfg.d_hidden
    xs = net.wte.weight.detach().double().numpy()[list(lm.tokenizer.encode(text).ids)]
    out = []
    for layer in net.layers:
        w_ih, w_hh, b_ih, b_hh = (
            getattr(layer, f"{n}_l0").detach().double().numpy()
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        h, c, steps = np.zeros(d), np.zeros(d), []
        for x in xs:
            xw, hw = w_ih @ x + b_ih, w_hh @ h + b_hh
            s = {"x": x, "h_prev": h, "c_prev": c}
            for k, g in enumerate(GATES[cell]):
                xi, hi = xw[k * d : (k + 1) * d], hw[k * d : (k + 1) * d]
                pre = xi + s["r"] * hi if g == "n" else xi + hi
                s[f"{g}_in"], s[f"{g}_state"], s[f"{g}_pre"] = xi, hi, pre
                s[g] = np.tanh(pre) if g in "gnh" else _sigmoid(pre)
            if cell == "lstm":
                c = s["f"] * c + s["i"] * s["g"]
                h = s["o"] * np.tanh(c)
            elif cell == "gru":
                h = (1 - s["z"]) * s["n"] + s["z"] * h
            else:
                h = s["h"]
            s["c_new"], s["h_new"] = c, h
            steps.append(s)
        out.append(steps)
        xs = np.stack([s["h_new"] for s in steps])
    return out


def _close(got: np.ndarray | None, want: np.ndarray, name: str) -> None:
    assert got is not None, name
    np.testing.assert_allclose(np.asarray(got, np.float64), want, **TOL, err_msg=name)


@pytest.mark.parametrize("cell", RECURRENT)
@pytest.mark.parametrize("units", [None, [5, 0, 23]])
def test_every_step_equals_an_independent_float64_loop(
    cell: str, units: list[int] | None, tiny_models: dict[str, LanguageModel]
) -> None:
    lm = tiny_models[cell]
    ref = _reference(lm, TEXT)
    sel = np.arange(lm.net.cfg.d_hidden) if units is None else np.array(units)
    for layer in range(lm.net.cfg.n_layers):
        for t in (0, 1, 7, len(ref[layer]) - 1):
            s = recurrence_steps(lm, TEXT, layer, t, units)
            r = ref[layer][t]
            np.testing.assert_array_equal(s.units, sel)
            _close(s.x_t, r["x"], "x_t")
            _close(s.h_prev, r["h_prev"], "h_prev")
            assert list(s.preactivations) == list(GATES[cell])
            for g, p in s.preactivations.items():
                _close(p.from_input, r[f"{g}_in"][sel], f"{g} from input")
                _close(p.from_state, r[f"{g}_state"][sel], f"{g} from state")
                _close(p.pre, r[f"{g}_pre"][sel], f"{g} pre-activation")
                _close(p.value, r[g][sel], g)
                assert p.function == ("tanh" if g in "gnh" else "sigmoid")
            _close(s.h, r["h_new"][sel], "h")
            if cell == "lstm":
                _close(s.c_prev, r["c_prev"][sel], "c_prev")
                _close(s.c, r["c_new"][sel], "c")
                _close(s.tanh_c, np.tanh(r["c_new"][sel]), "tanh c")
            else:
                assert s.c_prev is None and s.c is None and s.tanh_c is None and s.trace_c is None


@pytest.mark.parametrize("cell", RECURRENT)
def test_each_step_equals_the_state_the_model_computed(
    cell: str, tiny_models: dict[str, LanguageModel]
) -> None:
    lm = tiny_models[cell]
    trace = lm.trace(TEXT)
    for layer in range(lm.net.cfg.n_layers):
        for t in range(len(trace.tokens["input"])):
            s = recurrence_steps(lm, TEXT, layer, t)
            np.testing.assert_allclose(s.h, trace.states["h"][layer, t], **TOL)
            np.testing.assert_array_equal(s.trace_h, trace.states["h"][layer, t])
            if cell == "lstm":
                np.testing.assert_allclose(s.c, trace.states["c"][layer, t], **TOL)  # type: ignore[arg-type]
                np.testing.assert_array_equal(s.trace_c, trace.states["c"][layer, t])  # type: ignore[arg-type]
            for g, p in s.preactivations.items():
                traced = trace.states["h"] if g == "h" else trace.gates[g]
                np.testing.assert_allclose(p.value, traced[layer, t], **TOL)
                np.testing.assert_array_equal(p.traced, traced[layer, t])
            assert s.max_error <= 1e-5
            if layer > 0:  # the layer reads the model's own h of the layer below
                np.testing.assert_array_equal(s.x_t, trace.states["h"][layer - 1, t])
            if t > 0:
                np.testing.assert_array_equal(s.h_prev, trace.states["h"][layer, t - 1])


@pytest.mark.parametrize("cell", RECURRENT)
def test_the_first_step_starts_from_zero_state(cell: str, tiny_models: dict[str, LanguageModel]) -> None:
    lm = tiny_models[cell]
    s = recurrence_steps(lm, TEXT, 1, 0)
    assert not s.h_prev.any()
    assert s.c_prev is None or not s.c_prev.any()
    d, bias = lm.net.cfg.d_hidden, lm.net.layers[1].bias_hh_l0.detach().numpy()
    for k, p in enumerate(s.preactivations.values()):  # W_hh·0 + b_hh: only the bias
        np.testing.assert_allclose(p.from_state, bias[k * d : (k + 1) * d], **TOL)


@pytest.mark.parametrize("cell", RECURRENT)
def test_arrays_are_read_only_float32_with_the_documented_shapes(
    cell: str, tiny_models: dict[str, LanguageModel]
) -> None:
    lm = tiny_models[cell]
    s = recurrence_steps(lm, TEXT, 1, 4, [3, 1])
    d = lm.net.cfg.d_hidden
    assert s.units.dtype == np.int64 and s.units.shape == (2,)
    assert s.x_t.shape == (d,) and s.h_prev.shape == (d,)
    assert (s.layer, s.t, s.architecture) == (1, 4, cell)
    arrays = [s.x_t, s.h_prev, s.h, s.trace_h] + [
        getattr(p, f.name)
        for p in s.preactivations.values()
        for f in dataclasses.fields(p)
        if f.name not in ("name", "function")
    ]
    arrays += [a for a in (s.c_prev, s.c, s.tanh_c, s.trace_c) if a is not None]
    for arr in arrays:
        assert arr.dtype == np.float32 and not arr.flags.writeable
    assert all(a.shape == (2,) for a in arrays[2:])
    assert recurrence_steps(lm, TEXT, 0, 4).x_t.shape == (lm.net.cfg.d_embed,)


def test_the_gates_are_not_saturated_so_the_checks_mean_something(
    tiny_models: dict[str, LanguageModel],
) -> None:
    s = recurrence_steps(tiny_models["lstm"], TEXT, 1, 10)
    for p in s.preactivations.values():
        assert float(p.value.max() - p.value.min()) > 0.1, p.name
        assert np.abs(p.from_state).max() > 0.01  # the state half takes part


@pytest.mark.parametrize(
    ("layer", "t", "units", "field", "top"),
    [
        (2, 0, None, "layer", 1),
        (0, -1, None, "t", 1),
        (0, 2, None, "t", 1),
        (0, 0, [24], "unit", 23),
        (0, 0, [], "units", 23),
    ],
)
def test_out_of_range_options_name_the_range(
    tiny_models: dict[str, LanguageModel], layer: int, t: int, units: list[int] | None, field: str, top: int
) -> None:
    with pytest.raises(OptionError, match=rf"^{field} is .*; choose a value from 0 to {top}$"):
        recurrence_steps(tiny_models["gru"], "The cat", layer, t, units)


def test_the_transformer_has_no_recurrent_steps(tiny_models: dict[str, LanguageModel]) -> None:
    with pytest.raises(MissingPartError, match="choose an LSTM, GRU or RNN"):
        recurrence_steps(tiny_models["transformer"], "The cat", 0, 0)
    with pytest.raises(MissingPartError, match="choose an LSTM"):
        memory_horizon(tiny_models["transformer"], "The cat", 0)


def _products(g: np.ndarray, t: int, d: int) -> np.ndarray:
    """Π g[t − d + 1 .. t] over steps, for every unit; g is [T, U]."""
    out = np.ones(g.shape[1])
    for step in range(t - d + 1, t + 1):
        out = out * g[step]
    return out


@pytest.mark.parametrize(("cell", "gate"), [("lstm", "f"), ("gru", "z")])
def test_memory_horizon_is_the_product_of_the_traced_keep_gates(
    cell: str, gate: str, tiny_models: dict[str, LanguageModel]
) -> None:
    lm = tiny_models[cell]
    trace = lm.trace(TEXT)
    n = len(trace.tokens["input"])
    for layer in range(lm.net.cfg.n_layers):
        g = trace.gates[gate][layer].astype(np.float64)  # [T, U]
        m = memory_horizon(lm, TEXT, layer)
        assert (m.gate, m.t, m.max_distance) == (gate, n - 1, n - 1)
        assert m.survival.shape == m.mean_survival.shape == (lm.net.cfg.d_hidden, n)
        for d in range(n):
            np.testing.assert_allclose(m.survival[:, d], _products(g, n - 1, d), rtol=1e-5, atol=1e-12)
            mean = np.mean([_products(g, t, d) for t in range(d, n)], axis=0)
            np.testing.assert_allclose(m.mean_survival[:, d], mean, rtol=1e-5, atol=1e-12)
        assert (m.survival[:, 0] == 1).all()
        below = m.mean_survival < 0.5
        for u in range(lm.net.cfg.d_hidden):
            assert m.half_life[u] == (int(np.argmax(below[u])) if below[u].any() else -1)
        assert (np.diff(m.survival, axis=1) <= 0).all()  # gates in (0, 1): memory only fades


def test_memory_horizon_at_a_chosen_step_and_distance(tiny_models: dict[str, LanguageModel]) -> None:
    lm = tiny_models["lstm"]
    g = lm.trace(TEXT).gates["f"][0].astype(np.float64)
    m = memory_horizon(lm, TEXT, 0, t=6, max_distance=3)
    assert m.survival.shape == (24, 4) and m.mean_survival.shape == (24, 4)
    for d in range(4):
        np.testing.assert_allclose(m.survival[:, d], _products(g, 6, d), rtol=1e-5)
    short = memory_horizon(lm, TEXT, 0, t=2, max_distance=10)
    assert short.survival.shape == (24, 3)  # no step before the first
    whole = memory_horizon(lm, "The cat", 0, max_distance=50)
    assert whole.max_distance == 1 and whole.mean_survival.shape == (24, 2)
    assert whole.half_life.dtype == np.int32 and not whole.half_life.flags.writeable


def test_memory_horizon_shows_long_memory_when_the_gate_stays_open(
    tiny_models: dict[str, LanguageModel],
) -> None:
    """A forget gate pinned near 1 (huge bias) keeps everything; near 0, nothing past one step."""
    lm = tiny_models["lstm"]
    net = type(lm.net)(lm.net.cfg)
    net.load_state_dict(lm.net.state_dict())
    d = net.cfg.d_hidden
    with torch.no_grad():
        net.layers[0].bias_ih_l0[d : 2 * d] = 40.0
        net.layers[1].bias_ih_l0[d : 2 * d] = -40.0
    open_closed = LanguageModel("pinned", net, lm.tokenizer)
    kept = memory_horizon(open_closed, TEXT, 0)
    np.testing.assert_allclose(kept.mean_survival, 1.0, atol=1e-6)
    assert (kept.half_life == -1).all()
    lost = memory_horizon(open_closed, TEXT, 1)
    assert lost.mean_survival[:, 1:].max() < 1e-6 and (lost.half_life == 1).all()


def test_the_rnn_has_no_memory_horizon(tiny_models: dict[str, LanguageModel]) -> None:
    with pytest.raises(MissingPartError, match="no gate") as err:
        memory_horizon(tiny_models["rnn"], TEXT, 0)
    assert "LSTM" in str(err.value) and "GRU" in str(err.value)


@pytest.mark.parametrize(("t", "max_distance", "field"), [(99, None, "t"), (None, -1, "max_distance")])
def test_memory_horizon_options_out_of_range(
    tiny_models: dict[str, LanguageModel], t: int | None, max_distance: int | None, field: str
) -> None:
    with pytest.raises(OptionError, match=f"^{field} is"):
        memory_horizon(tiny_models["gru"], TEXT, 0, t=t, max_distance=max_distance)


@pytest.mark.parametrize("cell", RECURRENT)
def test_shipped_models_identities_hold_over_a_long_text(cell: str) -> None:
    """Trained weights over ~450 tokens, where the LSTM's cell states reach the hundreds."""
    if not (CHECKPOINT_DIR / f"{cell}.safetensors").is_file():
        pytest.skip(f"shipped {cell} not trained yet")
    lm = load_model(cell)
    text = " ".join([TEXT] * 24)
    n = len(lm.tokenizer.encode(text))
    trace = lm.trace(text)
    for layer in (0, 1):
        for t in (0, n // 2, n - 1):
            s = recurrence_steps(lm, text, layer, t)
            assert s.max_error <= 1e-5
            np.testing.assert_allclose(s.h, trace.states["h"][layer, t], **TOL)
            if s.c is not None:
                np.testing.assert_allclose(s.c, trace.states["c"][layer, t], **TOL)
