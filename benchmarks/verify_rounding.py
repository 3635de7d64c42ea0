"""Each model's own float32 rounding error, next to the two models' disagreement, on one input:
what the verifier's float32 allowance is made of (docs/verification.md, "Float32 rounding").

Builds the verifier's session for a Keras original and its torch translation (weights randomised
and transferred), runs one training step (outputs, gradients, SGD step) of four models on the same
input and loss projections: the Keras original in float32 and float64, the torch translation in
float32 and float64; prints per parameter the largest gradient, each model's own error
(|float32 - float64|), the float32 disagreement and the float64 disagreement.

    .venv/bin/python benchmarks/verify_rounding.py ORIGINAL.py TRANSLATION.py ENTRY \\
        --kwargs '{"weights": null, "input_shape": [64, 64, 3], "classes": 10}' --input-shape 2,64,64,3 \\
        --seed 1 --tensors conv1_conv.weight,conv5_block1_0_conv.weight
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("original")
    ap.add_argument("translation")
    ap.add_argument("entry")
    ap.add_argument("--kwargs", default="{}")
    ap.add_argument("--input-shape", required=True)
    ap.add_argument("--seed", type=int, default=0, help="the input: numpy default_rng(seed).uniform(-2, 2)")
    ap.add_argument("--tensors", default="", help="parameters to print (default: the 8 with the largest ratio)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    from fwtranslate.verify.backend import torch_beside_tensorflow
    from fwtranslate.verify.core import open_session
    from fwtranslate.verify.randomize import dropout_off, keras_dropout_off
    from fwtranslate.verify.report import VerifyReport
    from fwtranslate.verify.session import SessionRequest

    shape = tuple(int(x) for x in args.input_shape.split(","))
    with torch_beside_tensorflow():
        s = open_session(
            VerifyReport(),
            SessionRequest(
                original=args.original,
                translated=args.translation,
                entry=args.entry,
                kwargs=json.loads(args.kwargs),
                input_shape=shape,
                device="cpu",
                rtol=1e-4,
                atol=1e-5,
            ),
        )
        if not s.keras_original:
            raise SystemExit("the original must be the Keras file")
        dropout_off(s.torch)
        keras_dropout_off(s.keras)
        s.dropout_is_off = True
        x = [np.random.default_rng(args.seed).uniform(-2, 2, size=shape).astype(np.float32)]
        x64 = [a.astype(np.float64) for a in x]
        with s.device.scope():
            k32 = s.krun.train_step(x, None, 0.1, 0)
            proj64 = {k: v.astype(np.float64) for k, v in k32.projections.items()}
            t32 = s.trun.train_step(x, 0.1, 0, k32.projections)
            k64_run, t64_run = s.references()
            k64 = k64_run.train_step(x64, 0.1, 0, proj64)
            t64 = t64_run.train_step(x64, 0.1, 0, proj64)

    def gap(a, b):
        return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())

    rows = []
    for n in k32.param_grads:
        rows.append(
            (
                n,
                float(np.abs(k64.param_grads[n]).max()),
                gap(k32.param_grads[n], k64.param_grads[n]),
                gap(t32.param_grads[n], t64.param_grads[n]),
                gap(k32.param_grads[n], t32.param_grads[n]),
                gap(k64.param_grads[n], t64.param_grads[n]),
            )
        )
    chosen = (
        args.tensors.split(",")
        if args.tensors
        else [r[0] for r in sorted(rows, key=lambda r: -max(r[2], r[3]) / max(min(r[2], r[3]), 1e-30))[:8]]
    )
    print(f"input: uniform(-2, 2) seed {args.seed}, shape {shape}; gradients of sum(outputs * projection)")
    print("| tensor | max abs gradient | Keras own error | torch own error | Keras32 vs torch32 | Keras64 vs torch64 |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if r[0] in chosen:
            print(f"| {r[0]} | " + " | ".join(f"{v:.3g}" for v in r[1:]) + " |")
    worst = max(rows, key=lambda r: r[4] / (r[2] + r[3]) if r[2] + r[3] > 0 else 0.0)
    print(
        f"largest (Keras32 vs torch32) / (Keras own + torch own error): {worst[4] / (worst[2] + worst[3]):.3f} "
        f"({worst[0]}); largest float64 disagreement: {max(r[5] for r in rows):.3g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
