#!/usr/bin/env python3
"""GPU benchmarks of star next to the Python stack, side by side in one run on one GPU.

On a Qwen2.5-0.5B-shaped checkpoint with random weights, written by transformers in bf16
(hidden 896, 24 layers, 14 heads, 2 KV heads, intermediate 4864, vocab 151,936, tied):
  - generation tokens/s at batch 1, 64 and 256 (prompt 128 tokens, 256 new tokens, greedy):
    star-bench-generation (bf16, KV cache) against transformers' generate (bf16, sdpa, KV
    cache, greedy);
  - training tokens/s and MFU at 8 x 1024 tokens: star-bench-training (float32 master weights,
    bf16 autocast, fused AdamW) against a plain PyTorch loop over the transformers model with
    the same scheme (torch.autocast bf16, torch.optim.AdamW(fused=True)).
MFU counts 6 FLOPs per matrix parameter per token (LM head included) plus causal attention's
6 * layers * seq * heads * head_dim, against the peak given (790 TFLOP/s: the H200's dense bf16).

  python3 scripts/gpu_bench.py --run BUNDLE/run --out OUTDIR [--quick]

Writes OUTDIR/benchmarks.jsonl (one JSON object per measurement) and OUTDIR/benchmarks.md (the
tables with ratios), and prints both.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch

QWEN25_05B = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                  num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                  max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
                  tie_word_embeddings=True)


def write_checkpoint(folder):
    from transformers import Qwen2Config, Qwen2ForCausalLM
    config = Qwen2Config(**QWEN25_05B, dtype="bfloat16")
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    return config


def flops_per_token(c, seq):
    head_dim = c["hidden_size"] // c["num_attention_heads"]
    q = c["num_attention_heads"] * head_dim
    kv = c["num_key_value_heads"] * head_dim
    h = c["hidden_size"]
    per_layer = h * (q + 2 * kv) + q * h + 3 * h * c["intermediate_size"]
    matmul = c["num_hidden_layers"] * per_layer + h * c["vocab_size"]
    return 6.0 * matmul + 6.0 * c["num_hidden_layers"] * seq * q


def run_star(run, args):
    out = subprocess.run([run] + args, check=True, capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def transformers_generate(folder, batch, prompt, new, repeats):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16,
                                                 attn_implementation="sdpa").cuda().eval()
    ids = torch.randint(3, QWEN25_05B["vocab_size"], (batch, prompt), device="cuda")
    mask = torch.ones_like(ids)
    best = float("inf")
    for r in range(repeats + 1):  # the first run warms up
        torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.inference_mode():
            model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new,
                           min_new_tokens=new, do_sample=False, use_cache=True,
                           pad_token_id=0, eos_token_id=None)
        torch.cuda.synchronize()
        if r > 0:
            best = min(best, time.perf_counter() - start)
    del model
    torch.cuda.empty_cache()
    return {"impl": "transformers", "mode": "generate", "batch": batch, "prompt_tokens": prompt,
            "new_tokens": new, "seconds": best, "tokens_per_second": batch * new / best}


def pytorch_train(folder, batch, seq, steps, warmup, peak_tflops):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32,
                                                 attn_implementation="sdpa").cuda().train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    ids = torch.randint(3, QWEN25_05B["vocab_size"], (batch, seq), device="cuda")
    timed = 0.0
    for step in range(warmup + steps):
        torch.cuda.synchronize()
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=ids).logits
        loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.size(-1)).float(), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss.item()
        if step >= warmup:
            timed += time.perf_counter() - start
    del model, optimizer
    torch.cuda.empty_cache()
    tokens_per_second = batch * seq * steps / timed
    fpt = flops_per_token(QWEN25_05B, seq)
    return {"impl": "pytorch", "mode": "train", "batch": batch, "seq_len": seq,
            "seconds_per_step": timed / steps, "tokens_per_second": tokens_per_second,
            "mfu": tokens_per_second * fpt / (peak_tflops * 1e12)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="the bundle's launcher (BUNDLE/run)")
    parser.add_argument("--out", required=True, help="folder for benchmarks.jsonl and .md")
    parser.add_argument("--quick", action="store_true", help="batch 1 and 64 only, 1 repeat")
    parser.add_argument("--peak-tflops", type=float, default=790.0)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_bench.py: no CUDA device visible")
    os.makedirs(args.out, exist_ok=True)
    batches = [1, 64] if args.quick else [1, 64, 256]
    repeats = 1 if args.quick else 2
    prompt, new = 128, 256
    results = []

    def record(r):
        results.append(r)
        print(json.dumps(r), flush=True)

    with tempfile.TemporaryDirectory() as folder:
        write_checkpoint(folder)
        for batch in batches:
            record(transformers_generate(folder, batch, prompt, new, repeats))
            r = run_star(args.run, ["star-bench-generation", "--model", folder, "--device", "cuda",
                                    "--precision", "bf16", "--batch", str(batch),
                                    "--prompt-tokens", str(prompt), "--new-tokens", str(new),
                                    "--repeats", str(repeats)])
            r["mode"] = "generate"
            record(r)
        record(pytorch_train(folder, 8, 1024, 10, 3, args.peak_tflops))
        record(run_star(args.run, ["star-bench-training", "--model", folder, "--device", "cuda",
                                   "--precision", "bf16", "--batch", "8", "--seq", "1024",
                                   "--steps", "10", "--warmup-steps", "3",
                                   "--peak-tflops", str(args.peak_tflops)]))

    with open(os.path.join(args.out, "benchmarks.jsonl"), "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    by = {(r["impl"], r["mode"], r.get("batch")): r for r in results}
    lines = [f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}; "
             f"Qwen2.5-0.5B-shaped random checkpoint, bf16", "",
             "| generation (prompt 128, 256 new, greedy) | star tokens/s | transformers.generate tokens/s | star / transformers |",
             "| --- | ---: | ---: | ---: |"]
    for batch in batches:
        s, t = by[("star", "generate", batch)], by[("transformers", "generate", batch)]
        lines.append(f"| batch {batch} | {s['tokens_per_second']:.0f} | "
                     f"{t['tokens_per_second']:.0f} | {s['tokens_per_second'] / t['tokens_per_second']:.2f}x |")
    s, p = by[("star", "train", 8)], by[("pytorch", "train", 8)]
    lines += ["", "| training (8 x 1024 tokens, bf16 autocast, fused AdamW) | tokens/s | MFU |",
              "| --- | ---: | ---: |",
              f"| star | {s['tokens_per_second']:.0f} | {100 * s['mfu']:.1f}% |",
              f"| plain PyTorch loop | {p['tokens_per_second']:.0f} | {100 * p['mfu']:.1f}% |",
              f"| star / PyTorch | {s['tokens_per_second'] / p['tokens_per_second']:.2f}x | |"]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "benchmarks.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
