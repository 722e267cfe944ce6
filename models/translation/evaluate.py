"""BLEU and chrF (sacrebleu, every reference) of greedy and beam-4 translations of the test
split: ``python -m models.translation.evaluate``.

Prints the table for the shipped models and checks that it equals their model cards (scores
and the sha256 of the outputs); exits 1 where they differ.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from sacrebleu.metrics import BLEU, CHRF
from tqdm import tqdm

from ..errors import CheckpointError
from ..tokenizer import Tokenizer
from .checkpoint import ARCHS, MT_DIR, NAMES, TOKENIZER_FILE, load_mt_net
from .data import Split, load_corpus
from .net import Seq2SeqNet
from .search import beam_search, greedy

BEAMS = (1, 4)  # greedy, and beam 4
ALPHA = 1.0  # length normalisation in beam search
MAX_LEN = 128  # output tokens per sentence, EOS included, at most
DECODING = {1: "greedy", 4: "beam4"}


def translate_all(
    net: Seq2SeqNet,
    tokenizer: Tokenizer,
    sentences: Sequence[str],
    beam: int,
    progress: bool = False,
    desc: str = "",
) -> list[str]:
    """Translate each sentence on its own (as the app does), greedy for ``beam=1``."""
    eos = tokenizer.eot_id
    out = []
    for text in tqdm(sentences, desc=desc, disable=not progress, leave=False, dynamic_ncols=True):
        src = torch.tensor([[*tokenizer.encode_ids(text), eos]])
        max_len = min(MAX_LEN, 2 * src.shape[1] + 10)  # as TranslationModel.translate's default
        if beam == 1:
            ids = greedy(net, src, eos, eos, max_len).ids
        else:
            ids = beam_search(net, src, eos, eos, max_len, beam, ALPHA)[0].ids
        out.append(tokenizer.decode(i for i in ids if i != eos))
    return out


def score(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Corpus BLEU and chrF against every reference of each sentence (sacrebleu defaults)."""
    n_refs = max(map(len, references))
    streams: list[list[str | None]] = [
        [refs[k] if k < len(refs) else None for refs in references] for k in range(n_refs)
    ]
    bleu, chrf = BLEU(), CHRF()
    return {
        "bleu": round(bleu.corpus_score(list(hypotheses), streams).score, 2),  # type: ignore[arg-type]
        "chrf": round(chrf.corpus_score(list(hypotheses), streams).score, 2),  # type: ignore[arg-type]
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
        "outputs_sha256": hashlib.sha256("\n".join(hypotheses).encode()).hexdigest(),
        "sentences": len(hypotheses),
    }


def evaluate_split(
    net: Seq2SeqNet, tokenizer: Tokenizer, split: Split, beams: Sequence[int] = BEAMS, progress: bool = False
) -> dict[str, dict[str, Any]]:
    """{"greedy": {...}, "beam4": {...}}: scores, signatures and timing per decoding."""
    out = {}
    for beam in beams:
        start = time.time()
        hyps = translate_all(net, tokenizer, split.english, beam, progress, DECODING.get(beam, f"beam{beam}"))
        out[DECODING.get(beam, f"beam{beam}")] = {
            **score(hyps, split.references),
            "beam": beam,
            "alpha": ALPHA if beam > 1 else None,
            "seconds": round(time.time() - start, 1),
        }
    return out


def table(rows: dict[str, dict[str, Any]]) -> str:
    """Markdown table of test BLEU/chrF, greedy and beam 4, one row per model card."""
    lines = [
        "| model | params | greedy BLEU | greedy chrF | beam-4 BLEU | beam-4 chrF |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, card in rows.items():
        test = card["metrics"]["test"]
        g, b = test["greedy"], test["beam4"]
        lines.append(
            f"| {name} | {card['n_params'] / 1e6:.2f} M | {g['bleu']:.2f} | {g['chrf']:.2f} | "
            f"{b['bleu']:.2f} | {b['chrf']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.translation.evaluate", description=__doc__)
    parser.add_argument("--folder", type=Path, default=MT_DIR)
    parser.add_argument("--models", nargs="+", default=[NAMES[a] for a in ARCHS])
    parser.add_argument("--beams", type=int, nargs="+", default=list(BEAMS))
    parser.add_argument("--threads", type=int, default=1, help="the cards were measured with 1")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    corpus = load_corpus()
    tokenizer = Tokenizer.from_file(args.folder / TOKENIZER_FILE)
    measured: dict[str, dict[str, Any]] = {}
    ok = True
    for name in args.models:
        try:
            net, card = load_mt_net(args.folder, name)
        except CheckpointError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            ok = False
            continue
        if card["data"]["sha256"] != corpus.sha256:
            print(f"{name}: the card's data sha256 differs from {corpus.file}'s", file=sys.stderr)
            ok = False
        test = evaluate_split(net, tokenizer, corpus.test, args.beams, progress=True)
        measured[name] = {**card, "metrics": {**card["metrics"], "test": test}}
        for decoding, got in test.items():
            want = card["metrics"]["test"].get(decoding, {})
            same = all(got[k] == want.get(k) for k in ("bleu", "chrf", "outputs_sha256"))
            ok &= same
            print(
                f"{name} {decoding}: BLEU {got['bleu']:.2f} chrF {got['chrf']:.2f} ({got['seconds']:.0f} s) "
                + ("= card" if same else f"!= card (BLEU {want.get('bleu')}, chrF {want.get('chrf')})")
            )
    if measured and set(args.beams) >= set(BEAMS):
        print()
        print(table(measured))
    print("\nall equal to the model cards" if ok else "\nsome results differ from the model cards")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
