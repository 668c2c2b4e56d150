#!/usr/bin/env python3
"""The matrix multiplications of one decoding step of the 25M benchmark model, and nothing else.

Their time is a ceiling for any float32 implementation of that model on this CPU: a decoder can
only be slower than its own matmuls. Shapes: 8 layers of fused q/k/v (1024x512), o (512x512),
fused gate/up (2752x512) and down (512x1376), plus the LM head (1024x512).

  .venv/bin/python scripts/bench_matmul_ceiling.py [--threads 2]
"""

import argparse
import time

import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    hidden, inter, layers, vocab, q_out, kv_out = 512, 1376, 8, 1024, 512, 256
    weights = []
    for _ in range(layers):
        weights += [torch.randn(q_out + 2 * kv_out, hidden), torch.randn(hidden, q_out),
                    torch.randn(2 * inter, hidden), torch.randn(hidden, inter)]
    weights.append(torch.randn(vocab, hidden))
    params = sum(w.numel() for w in weights)
    linear = torch.nn.functional.linear
    for batch in (1, 16, 256):
        x, xi, xq = torch.randn(batch, hidden), torch.randn(batch, inter), torch.randn(batch, q_out)

        def step():
            for i in range(layers):
                linear(x, weights[4 * i])
                linear(xq, weights[4 * i + 1])
                linear(x, weights[4 * i + 2])
                linear(xi, weights[4 * i + 3])
            linear(x, weights[-1])

        for _ in range(5):
            step()
        n = 50 if batch < 256 else 10
        start = time.perf_counter()
        for _ in range(n):
            step()
        dt = (time.perf_counter() - start) / n
        print(f"batch {batch}: {dt * 1e3:.2f} ms/step, {batch / dt:.0f} tokens/s ceiling, "
              f"{2 * batch * params / dt / 1e9:.1f} GFLOP/s, weights {params * 4 / dt / 1e9:.1f} GB/s")


if __name__ == "__main__":
    main()
