"""POST /api/v1/translate over tiny translation models: the numbers are the model's own
(checked against models.translation directly), both models in one call, forced decoding,
the beam's alternatives, and clear 4xx for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from models.translation import load_translation_model

TEXT = "Where is the station?"


@pytest.fixture(scope="module")
def tclient(make_client_module, translation_dir):
    return make_client_module(translation_dir)


@pytest.fixture(scope="module")
def make_client_module():
    from contextlib import ExitStack

    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    with ExitStack() as stack:
        yield lambda folder: stack.enter_context(
            TestClient(create_app(Settings(models_dir=folder, cache_size=0)), base_url="http://localhost")
        )


def test_models_lists_the_translation_models_with_their_spec(tclient):
    models = {m["name"]: m for m in tclient.get("/api/v1/models").json()["models"]}
    assert {m["task"] for n, m in models.items() if n.endswith("-enfr")} == {"translation"}
    assert {m["task"] for n, m in models.items() if not n.endswith("-enfr")} == {"language-model"}
    spec = models["transformer-enfr"]["spec"]
    assert spec["roles"] == ["source", "target"] and spec["output_role"] == "target"
    kinds = {k["name"]: k for k in spec["attention"]}
    assert kinds["cross"] == {**kinds["cross"], "causal": False, "query_role": "target", "key_role": "source"}
    assert kinds["decoder_self"]["causal"] and not kinds["encoder_self"]["causal"]
    lstm = models["lstm-enfr"]["spec"]
    assert [k["name"] for k in lstm["attention"]] == ["cross"] and lstm["gates"] == ["i", "f", "g", "o"]


@pytest.mark.parametrize("encoding", ["json", "f16", "u8"])
def test_both_models_in_one_call_equal_the_models_own_translation(tclient, translation_dir, decode, encoding):
    r = tclient.post(
        "/api/v1/translate",
        json={
            "models": ["transformer-enfr", "lstm-enfr"],
            "text": TEXT,
            "beam": 2,
            "encoding": encoding,
            "decimals": 6,
        },
    )
    assert r.status_code == 200, r.text
    for entry in r.json()["models"]:
        own = load_translation_model(entry["model"], translation_dir / "mt").translate(TEXT, beam=2)
        assert entry["translation"] == own.text and entry["beam"] == 2 and not entry["forced"]
        assert entry["tokens"]["source"]["ids"] == list(own.trace.tokens["source"].ids)
        assert entry["tokens"]["target"]["ids"] == list(own.trace.tokens["target"].ids)
        cross = decode(entry["parts"]["attention"]["cross"])
        want = own.trace.attention["cross"]
        assert cross.shape == want.shape and cross.shape[2:] == (
            len(own.trace.tokens["target"]),
            len(own.trace.tokens["source"]),
        )
        tolerance = {"json": 1e-6, "f16": 1e-3, "u8": 1 / 255}[encoding]
        np.testing.assert_allclose(cross, want, atol=tolerance)
        np.testing.assert_allclose(cross.sum(-1), 1, atol=tolerance * cross.shape[-1])
        np.testing.assert_allclose(entry["token_probs"], own.token_probs, rtol=1e-6)
        assert [a["text"] for a in entry["alternatives"]] == [a.text for a in own.alternatives]


def test_decoder_self_attention_is_sent_causal_and_the_others_dense(tclient):
    r = tclient.post("/api/v1/translate", json={"model": "transformer-enfr", "text": TEXT, "encoding": "f16"})
    layouts = {k: v["layout"] for k, v in r.json()["models"][0]["parts"]["attention"].items()}
    assert layouts == {"encoder_self": "dense", "decoder_self": "causal_lower", "cross": "dense"}


def test_forced_decoding_scores_the_given_french(tclient, translation_dir):
    r = tclient.post(
        "/api/v1/translate", json={"model": "lstm-enfr", "text": "I am cold.", "target": "J'ai froid."}
    )
    assert r.status_code == 200, r.text
    entry = r.json()["models"][0]
    own = load_translation_model("lstm-enfr", translation_dir / "mt").force("I am cold.", "J'ai froid.")
    assert entry["forced"] and entry["translation"] == "J'ai froid."
    np.testing.assert_allclose(entry["token_probs"], own.token_probs, rtol=1e-6)
    assert set(entry["parts"]) == {"attention", "h", "c", "gates"}


@pytest.mark.parametrize(
    ("body", "status", "word"),
    [
        ({"model": "lstm", "text": "x"}, 422, "language model"),
        ({"model": "bert", "text": "x"}, 404, "bert"),
        ({"model": "lstm-enfr", "text": "x", "beam": 9}, 422, "beam"),
        ({"model": "lstm-enfr", "text": "  "}, 422, "empty"),
        ({"model": "lstm-enfr", "text": "word " * 60}, 422, "n_ctx"),
        ({"text": "x"}, 422, "model"),
        ({"model": "lstm-enfr", "models": ["lstm-enfr"], "text": "x"}, 422, "not both"),
        ({"models": ["lstm-enfr", "lstm-enfr"], "text": "x"}, 422, "distinct"),
        ({"models": None, "text": "x"}, 422, "neither"),
        ({"model": None, "models": None, "text": "x"}, 422, "neither"),
    ],
)
def test_bad_input_is_a_clear_4xx(tclient, problem, body, status, word):
    assert word in problem(tclient.post("/api/v1/translate", json=body), status)["detail"]


def test_language_model_endpoints_refuse_a_translation_model(tclient, problem):
    body = problem(tclient.post("/api/v1/trace", json={"model": "lstm-enfr", "text": "x"}), 422)
    assert "/api/v1/translate" in body["detail"]


def test_an_untrained_translation_model_is_listed_unavailable_as_a_translation_model(
    make_client_module, checkpoint_dir, tmp_path_factory
):
    import shutil

    from models.translation.checkpoint import MT_DIR, TOKENIZER_FILE

    folder = tmp_path_factory.mktemp("untrained-mt")
    shutil.copytree(checkpoint_dir, folder, dirs_exist_ok=True)
    (folder / "mt").mkdir()
    shutil.copy(MT_DIR / TOKENIZER_FILE, folder / "mt" / TOKENIZER_FILE)
    models = {m["name"]: m for m in make_client_module(folder).get("/api/v1/models").json()["models"]}
    for name in ("transformer-enfr", "lstm-enfr"):
        assert not models[name]["available"] and models[name]["reason"]
        assert models[name]["task"] == "translation"
