"""The ``attenzione`` command: serve, models, trace, generate, probe."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence

from models.errors import OptionError, TextError
from models.lm import LanguageModel
from models.spec import DEFAULT_TOP_K, MAX_TOP_K

from .registry import Registry
from .settings import get_settings


def _serve(args: argparse.Namespace) -> int:
    from .server import serve

    s = get_settings()
    serve(s, host=args.host or s.host, port=args.port or s.port, reload=args.reload)
    return 0


def _models(_: argparse.Namespace) -> int:
    reg = Registry.load(get_settings().models_dir)
    print(f"{'name':<16} {'family':<12} {'params':>9} {'layers':>6} {'n_ctx':>6} {'bits/char':>9}  status")
    for name, e in reg.entries.items():
        if e.model is None:
            print(f"{name:<16} {'-':<12} {'-':>9} {'-':>6} {'-':>6} {'-':>9}  unavailable: {e.reason}")
            continue
        m, spec = e.model, e.model.spec
        bpc = m.card.get("metrics", {}).get("valid_bits_per_char")
        task = "translation en->fr; " if "source" in spec.roles else ""
        print(
            f"{name:<16} {spec.architecture:<12} {m.n_params:>9,} {spec.n_layers:>6} {spec.n_ctx:>6} "
            f"{'-' if bpc is None else f'{bpc:.3f}':>9}  {task}{', '.join(spec.parts)}"
        )
    return 0


def _load(name: str) -> LanguageModel | None:
    """The built-in model ``name``, or None after saying on stderr why there is none."""
    reg = Registry.load(get_settings().models_dir)
    entry = reg.entries.get(name)
    if entry is None or entry.model is None:
        reason = "unknown" if entry is None else f"unavailable: {entry.reason}"
        print(f"error: model {name!r} is {reason}; valid names: {', '.join(reg.names)}", file=sys.stderr)
        return None
    if not isinstance(entry.model, LanguageModel):
        print(
            f"error: model {name!r} translates; use: attenzione translate TEXT --model {name}",
            file=sys.stderr,
        )
        return None
    return entry.model


def _trace(args: argparse.Namespace) -> int:
    model = _load(args.model)
    if model is None:
        return 2
    try:
        trace = model.trace(args.text, top_k=args.top_k)
    except TextError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        from .serialize import Selection, dumps, model_trace_payload, tokens_payload

        sel = Selection(parts=("predictions",), decimals=4)
        payload = {
            "tokens": tokens_payload(trace.output_tokens),
            **model_trace_payload(trace, sel, model.tokenizer),
        }
        sys.stdout.buffer.write(dumps(payload) + b"\n")
        return 0
    p = trace.predictions
    tok = model.tokenizer
    print(
        f"{trace.model} ({trace.family}), {len(trace.output_tokens)} tokens; surprisal of each token given the ones before"
    )
    print(f"{'#':>4}  {'token':<16} {'surprisal':>9}  {'top next-token predictions':<}")
    for t, s in enumerate(trace.output_tokens.strings):
        prev = p.surprisal[t - 1] if t > 0 else math.nan
        surprise = "" if math.isnan(prev) else f"{prev:6.2f} b"
        preds = "  ".join(
            f"{tok.display(i)} {pr:.0%}" for i, pr in zip(p.top_ids[t], p.top_probs[t], strict=True)
        )
        print(f"{t:>4}  {s[:16]:<16} {surprise:>9}  {preds}")
    mean = float(p.surprisal[:-1].mean()) if len(p.surprisal) > 1 else math.nan
    print(f"mean surprisal: {mean:.2f} bits/token")
    return 0


_STOPPED = {
    "length": "reached --max-new-tokens",
    "context": "the model's context is full",
    "end_of_text": "the model ended the text",
}


def _generate(args: argparse.Namespace) -> int:
    from models.generate import generate

    model = _load(args.model)
    if model is None:
        return 2
    sample = args.temperature is not None or args.top_k is not None or args.seed is not None
    try:
        gen = generate(
            model,
            args.prompt,
            args.max_new_tokens,
            strategy="sample" if sample else "greedy",
            temperature=1.0 if args.temperature is None else args.temperature,
            top_k=args.top_k,
            seed=args.seed,
        )
    except (TextError, OptionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.tokens:
        print(args.prompt, end="", flush=True)
    finish = None
    for tok in gen:
        if args.tokens:
            alternatives = "  ".join(
                f"{s} {p:.0%}" for s, p in zip(tok.top_strings, tok.top_probs, strict=True)
            )
            print(
                f"{tok.position:>4}  {tok.string[:16]:<16} {tok.probability:>6.1%}  {alternatives}",
                flush=True,
            )
        else:
            print(tok.text, end="", flush=True)
        finish = tok.finish
    if not args.tokens:
        print()
    how = f"sampled with seed {gen.seed}" if gen.seed is not None else "greedy"
    print(
        f"[{len(gen.new_ids)} tokens, {how}; stopped: {_STOPPED.get(finish or '', finish)}]", file=sys.stderr
    )
    return 0


def _probe(args: argparse.Namespace) -> int:
    from models.probe import run

    return run(get_settings().models_dir, args)


def _top_k(value: str) -> int:
    """--top-k as the API takes it: 1 to MAX_TOP_K (torch.topk fails on k < 0)."""
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= k <= MAX_TOP_K:
        raise argparse.ArgumentTypeError(f"{k} is out of range; use 1 to {MAX_TOP_K}")
    return k


def _add_generate(sub: argparse._SubParsersAction) -> None:
    from models.generate import MAX_NEW_TOKENS

    gen = sub.add_parser(
        "generate",
        help="continue a prompt, printing tokens as they come",
        description="Greedy by default; --temperature, --top-k or --seed samples instead.",
    )
    gen.add_argument("prompt")
    gen.add_argument("--model", "-m", default="transformer")
    gen.add_argument(
        "--max-new-tokens", "-n", type=int, default=40, help=f"1 to {MAX_NEW_TOKENS} (default 40)"
    )
    gen.add_argument("--temperature", "-t", type=float, help="sample at this temperature (> 0; default 1)")
    gen.add_argument("--top-k", "-k", type=int, help="sample from the k most likely tokens only")
    gen.add_argument("--seed", "-s", type=int, help="sample reproducibly (a run without one prints its seed)")
    gen.add_argument("--tokens", action="store_true", help="one line per token: probability and alternatives")
    gen.set_defaults(func=_generate)


def _translate(args: argparse.Namespace) -> int:
    from models.translation import TranslationModel

    reg = Registry.load(get_settings().models_dir)
    entry = reg.entries.get(args.model)
    model = entry.model if entry is not None else None
    if not isinstance(model, TranslationModel):
        why = (
            "unknown"
            if entry is None
            else "unavailable: " + str(entry.reason)
            if model is None
            else "not a translation model"
        )
        names = ", ".join(reg.translation_models) or "(none installed)"
        print(f"error: model {args.model!r} is {why}; translation models: {names}", file=sys.stderr)
        return 2
    try:
        if args.target is not None:
            result = model.force(args.text, args.target)
        else:
            result = model.translate(args.text, beam=args.beam)
    except (TextError, OptionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cross = result.trace.attention["cross"].mean(axis=(0, 1))  # [target, source], over layers and heads
    source = result.trace.tokens["source"].strings
    print(result.text if args.target is None else f"forced: {result.text}")
    print(
        f"{model.name}, {'beam ' + str(args.beam) if args.target is None else 'teacher-forced'}, "
        f"log-probability {result.log_prob:.2f}; each output token, its probability, the source token it attended to most"
    )
    for i, (tok, p) in enumerate(
        zip(result.trace.tokens["target"].strings[1:], result.token_probs, strict=False)
    ):
        print(f"{i:>4}  {tok:<16} {p:>6.1%}   <- {source[int(cross[i].argmax())]}")
    for alt in result.alternatives[1:]:
        print(f"  alternative ({alt.score:.3f}): {alt.text}")
    return 0


def _add_probe(sub: argparse._SubParsersAction) -> None:
    from models.probe import add_arguments

    pr = sub.add_parser(
        "probe", help="run the probe suite (python -m models.probe) and store it in the cards"
    )
    add_arguments(pr)
    pr.set_defaults(func=_probe)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="attenzione", description="See inside small language models.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the web app and API")
    serve.add_argument("--host", help="interface (default ATTENZIONE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default ATTENZIONE_PORT or 8000)")
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    serve.set_defaults(func=_serve)
    sub.add_parser("models", help="list the built-in models").set_defaults(func=_models)
    tr = sub.add_parser("trace", help="trace a text through one model")
    tr.add_argument("text")
    tr.add_argument("--model", "-m", default="transformer")
    tr.add_argument("--format", choices=("table", "json"), default="table")
    tr.add_argument(
        "--top-k", type=_top_k, default=DEFAULT_TOP_K, help=f"next-token candidates, 1 to {MAX_TOP_K}"
    )
    tr.set_defaults(func=_trace)
    _add_generate(sub)
    tl = sub.add_parser("translate", help="translate English into French, with the alignment")
    tl.add_argument("text")
    tl.add_argument("--model", "-m", default="transformer-enfr")
    tl.add_argument("--beam", type=int, default=1, help="1: greedy; 2 to 8: beam search")
    tl.add_argument("--target", help="a French translation to score and align instead")
    tl.set_defaults(func=_translate)
    _add_probe(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # unavailable models are shown in the output
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
