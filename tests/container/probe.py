"""Probe a running Attenzione container. Standard library only: it runs inside the image.

    podman exec -i CTR python - --inside < tests/container/probe.py      # in the container
    python tests/container/probe.py --url http://127.0.0.1:18000          # from the host

It waits for /healthz, then checks /readyz (every expected model loaded), a transformer
trace (tokens, attention of shape [layers, heads, T, T] whose rows sum to 1, predictions), a
recurrent trace (hidden states), the pages, the static files and plotly.js. With --inside it
also checks what only the container can see: the app process (PID 1) is not root, the root
filesystem is read-only while /tmp is writable, and the only network interface is loopback.
Each check prints a line; the first failure prints "FAIL: ..." and exits 1. The last line
is JSON with the wall-clock time /healthz first answered, for the caller's timing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

TEXT = "The cat sat on the mat."


class ProbeError(Exception):
    pass


def request(url: str, body: dict[str, Any] | None = None, timeout: float = 60) -> tuple[int, bytes, str]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def check(cond: object, msg: str) -> None:
    if not cond:
        raise ProbeError(msg)


def wait_healthy(base: str, wait_s: float) -> float:
    deadline = time.time() + wait_s
    last = "no answer"
    while time.time() < deadline:
        try:
            status, body, _ = request(f"{base}/healthz", timeout=2)
            if status == 200 and json.loads(body) == {"status": "ok"}:
                return time.time()
            last = f"HTTP {status}: {body[:200]!r}"
        except (OSError, ValueError) as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise ProbeError(f"/healthz did not answer within {wait_s:.0f} s (last: {last})")


def check_ready(base: str, expected: list[str]) -> dict[str, Any]:
    status, body, _ = request(f"{base}/readyz")
    info = json.loads(body)
    unavailable = info.get("unavailable", {})
    missing = [m for m in expected if m not in info.get("available", [])]
    if status != 200 or missing:
        reasons = (
            "; ".join(f"{m}: {unavailable.get(m, 'not listed')}" for m in missing) or body.decode()[:500]
        )
        raise ProbeError(
            f"/readyz HTTP {status}: models unavailable in the image ({reasons}). The image bakes in "
            "models/checkpoints/ as it was at build time: build it after training has written "
            "<arch>.safetensors and <arch>.json there."
        )
    print(f"ok: /readyz 200, available {info['available']}")
    return info


def check_trace_transformer(base: str) -> None:
    status, body, ctype = request(
        f"{base}/api/v1/trace", {"model": "transformer", "text": TEXT, "parts": ["attention", "predictions"]}
    )
    check(status == 200, f"transformer trace: HTTP {status}: {body[:500]!r}")
    check(ctype.startswith("application/json"), f"transformer trace: Content-Type {ctype}")
    r = json.loads(body)
    strings = r["tokens"]["strings"]
    check(len(strings) >= 5 and "".join(strings).replace("␣", " ") != "", f"tokens look wrong: {strings}")
    att = r["parts"]["attention"]["self"]
    n_tok = len(strings)
    shape = att["shape"]
    check(len(shape) == 4 and shape[2:] == [n_tok, n_tok], f"attention shape {shape}, {n_tok} tokens")
    for layer in att["data"]:
        for head in layer:
            for q, row in enumerate(head):
                check(abs(sum(row) - 1) < 1e-2, f"attention row {q} sums to {sum(row)}")
                check(all(v == 0 for v in row[q + 1 :]), f"attention row {q} looks at later tokens")
    preds = r["predictions"]
    check(len(preds["top_ids"]) == n_tok and preds["top_strings"][0], "predictions missing")
    print(
        f"ok: transformer trace, {n_tok} tokens {strings}, attention {shape}, "
        f"next after 'The cat sat on the': {preds['top_strings'][-3][:3]}"
    )


def check_trace_recurrent(base: str, model: str) -> None:
    status, body, _ = request(f"{base}/api/v1/trace", {"model": model, "text": TEXT, "parts": ["h"]})
    check(status == 200, f"{model} trace: HTTP {status}: {body[:500]!r}")
    r = json.loads(body)
    shape = r["parts"]["h"]["shape"]
    check(shape[1] == len(r["tokens"]["strings"]), f"{model} hidden states shape {shape}")
    print(f"ok: {model} trace, hidden states {shape}")


def check_translate(base: str, models: list[str]) -> None:
    status, body, _ = request(f"{base}/api/v1/translate", {"models": models, "text": "I am cold."})
    check(status == 200, f"translate: HTTP {status}: {body[:500]!r}")
    for entry in json.loads(body)["models"]:
        check(entry.get("translation"), f"{entry['model']}: no translation: {entry}")
        cross = entry["parts"]["attention"]["cross"]["data"]
        rows = [row for layer in cross for head in layer for row in head]
        check(
            all(abs(sum(row) - 1) < 1e-2 for row in rows), f"{entry['model']}: alignment rows do not sum to 1"
        )
        print(f"ok: {entry['model']} translates 'I am cold.' as {entry['translation']!r}")


def check_pages(base: str) -> None:
    pages = ("/", "/compare", "/learn", "/translate")
    for path, kind in (*((p, "text/html") for p in pages), ("/static/css/app.css", "text/css")):
        status, body, ctype = request(f"{base}{path}")
        check(status == 200 and ctype.startswith(kind) and body, f"GET {path}: HTTP {status} {ctype}")
    page = request(f"{base}/")[1].decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    check(len(scripts) == 1 and "plotly" in scripts[0], f"the page's classic scripts: {scripts}")
    status, body, _ = request(f"{base}{scripts[0]}")
    check(status == 200 and len(body) > 1_000_000, f"GET {scripts[0]}: HTTP {status}, {len(body)} B")
    print(f"ok: pages {', '.join(pages)}, static CSS and plotly.js served")


def check_inside() -> None:
    status_text = Path("/proc/1/status").read_text()
    status = dict(line.split(":", 1) for line in status_text.splitlines() if ":" in line)
    uids = status["Uid"].split()
    cmdline = Path("/proc/1/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    check("app.cli" in cmdline or "uvicorn" in cmdline, f"PID 1 is not the app: {cmdline!r}")
    check(all(u != "0" for u in uids), f"the app process runs as root (Uid {uids})")
    print(f"ok: app process (PID 1: {cmdline}) runs as uid {uids[0]}, not root")
    try:
        with open("/app/probe-write-test", "w") as f:
            f.write("x")
        os.remove("/app/probe-write-test")
        raise ProbeError("could write to /app: the root filesystem is not read-only")
    except OSError as exc:
        check(exc.errno in (30, 13), f"unexpected error writing /app: {exc}")  # EROFS, EACCES
    with open("/tmp/probe-write-test", "w") as f:
        f.write("x")
    os.remove("/tmp/probe-write-test")
    print("ok: root filesystem read-only, /tmp writable")
    leftovers = [p for p in ("/opt/venv/bin/pip", "/run/secrets/pip_cert") if Path(p).exists()]
    leftovers += [t for t in ("gcc", "cc", "make") if shutil.which(t)]
    check(not leftovers, f"build leftovers in the image: {leftovers}")
    print("ok: no pip in the venv, no compiler, no build secret in the image")
    # Byte code: the root is read-only, so any module without valid byte code in the image
    # is compiled again at every start. `python -v` names the file each module came from.
    verbose = subprocess.run(
        [sys.executable, "-v", "-c", "import app.main"], capture_output=True, text=True, check=True
    ).stderr
    from_source = re.findall(r"code object from '([^']+\.py)'", verbose)
    from_pyc = re.findall(r"code object from '([^']+\.pyc)'", verbose)
    ours = [p for p in from_source if p.startswith(("/app/", "/opt/venv/"))]
    check(not ours, f"{len(ours)} modules of /app or /opt/venv compiled at every start, e.g. {ours[:5]}")
    print(
        f"ok: importing the app takes {len(from_pyc)} modules from byte code in the image; "
        f"{len(from_source)} (of the base image's Python) compile at start"
    )
    ifaces = sorted(os.listdir("/sys/class/net"))
    check(ifaces == ["lo"], f"network interfaces {ifaces}: expected loopback only (--network none)")
    print("ok: no network but loopback (--network none), and the app works")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--wait", type=float, default=300, help="seconds to wait for /healthz")
    ap.add_argument("--expect-models", default="transformer,lstm,gru,rnn")
    ap.add_argument("--inside", action="store_true", help="also run the checks only a container can")
    args = ap.parse_args()
    base = args.url.rstrip("/")
    try:
        healthy_at = wait_healthy(base, args.wait)
        print(f"ok: /healthz answered at {healthy_at:.3f}")
        expected = [m for m in args.expect_models.split(",") if m]
        ready = check_ready(base, expected)
        if "transformer" in expected:
            check_trace_transformer(base)
        for m in expected:
            if m != "transformer":
                check_trace_recurrent(base, m)
        translators = [m for m in ("transformer-enfr", "lstm-enfr") if m in ready["available"]]
        if translators:  # baked in once trained (the tiny-model image has none)
            check_translate(base, translators)
        check_pages(base)
        if args.inside:
            check_inside()
    except (ProbeError, OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        print(f"FAIL: {exc}", flush=True)
        return 1
    print(json.dumps({"healthy_at": healthy_at}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
