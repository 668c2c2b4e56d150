#!/usr/bin/env python3
"""Generation and training throughput of the C++ decoder next to the Python peers.

Builds a ~1M and a ~25M parameter Llama checkpoint with transformers (random weights), then on
the same checkpoint, torch version and thread count measures tokens/s of:
  - star (C++ decoder, KV cache) and star with the whole prefix recomputed at every step,
  - transformers' generate (greedy, KV cache),
  - a plain PyTorch loop over the transformers model (forward with past_key_values, argmax),
and training steps (forward + backward + AdamW) of star and of a plain PyTorch loop.
Prints one JSON line per measurement and a Markdown table at the end.

  .venv/bin/python scripts/bench_model.py --bin build/release/bin [--threads 2] [--quick]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

CONFIGS = {
    "1M": dict(vocab_size=256, hidden_size=128, intermediate_size=344, num_hidden_layers=5,
               num_attention_heads=4, num_key_value_heads=2),
    "25M": dict(vocab_size=1024, hidden_size=512, intermediate_size=1376, num_hidden_layers=8,
                num_attention_heads=8, num_key_value_heads=4),
}


def make_checkpoint(directory, config_kwargs):
    config = LlamaConfig(max_position_embeddings=1024, tie_word_embeddings=False,
                         **config_kwargs)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0.0, 1.0 / math.sqrt(p.shape[1]))
    model.save_pretrained(directory, safe_serialization=True)
    return model, sum(p.numel() for p in model.parameters())


def star(binary, *args):
    out = subprocess.run([binary, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def best_of(repeats, fn):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def prompts(vocab, batch, length):
    g = torch.Generator().manual_seed(1234)
    return torch.randint(3, vocab, (batch, length), generator=g)


def hf_generate(model, ids, new_tokens):
    with torch.no_grad():
        model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                       do_sample=False, use_cache=True, eos_token_id=None, pad_token_id=0)


def plain_loop(model, ids, new_tokens):
    with torch.no_grad():
        out = model(ids, use_cache=True)
        past = out.past_key_values
        token = out.logits[:, -1].argmax(-1, keepdim=True)
        for _ in range(new_tokens - 1):
            out = model(token, past_key_values=past, use_cache=True)
            past = out.past_key_values
            token = out.logits[:, -1].argmax(-1, keepdim=True)


def plain_train_step(model, optimizer, ids):
    optimizer.zero_grad()
    logits = model(ids).logits
    loss = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
    loss.backward()
    optimizer.step()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default="build/release/bin")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--prompt-tokens", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no batch 256")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    binary = os.path.join(args.bin, "star-bench-generation")
    repeats = 1 if args.quick else 2
    rows = []

    def record(row):
        rows.append(row)
        print(json.dumps(row), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        for size, kwargs in CONFIGS.items():
            directory = os.path.join(tmp, size)
            model, params = make_checkpoint(directory, kwargs)
            common = ["--model", directory, "--threads", str(args.threads),
                      "--new-tokens", str(args.new_tokens),
                      "--prompt-tokens", str(args.prompt_tokens), "--repeats", str(repeats)]
            batches = [1, 16] if args.quick else [1, 16, 256]
            for batch in batches:
                base = dict(size=size, params=params, batch=batch, threads=args.threads)
                r = star(binary, *common, "--batch", str(batch))
                record(dict(base, impl="star", mode="kv-cache",
                            tokens_per_second=r["tokens_per_second"]))
                if batch <= 16:
                    r = star(binary, *common, "--batch", str(batch), "--no-cache")
                    record(dict(base, impl="star", mode="recompute",
                                tokens_per_second=r["tokens_per_second"]))
                ids = prompts(kwargs["vocab_size"], batch, args.prompt_tokens)
                generated = batch * args.new_tokens
                s = best_of(repeats, lambda: hf_generate(model, ids, args.new_tokens))
                record(dict(base, impl="transformers.generate", mode="kv-cache",
                            tokens_per_second=generated / s))
                s = best_of(repeats, lambda: plain_loop(model, ids, args.new_tokens))
                record(dict(base, impl="pytorch-loop", mode="kv-cache",
                            tokens_per_second=generated / s))
            # Training steps: 8 sequences of 128 tokens.
            train_batch, seq = 8, 128
            r = star(binary, "--model", directory, "--threads", str(args.threads), "--train",
                     "--batch", str(train_batch), "--prompt-tokens", str(seq),
                     "--repeats", str(repeats + 1))
            base = dict(size=size, params=params, batch=train_batch, threads=args.threads)
            record(dict(base, impl="star", mode="train", tokens_per_second=r["tokens_per_second"]))
            model.train()
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
            ids = prompts(kwargs["vocab_size"], train_batch, seq)
            s = best_of(repeats + 1, lambda: plain_train_step(model, optimizer, ids))
            record(dict(base, impl="pytorch-loop", mode="train",
                        tokens_per_second=train_batch * seq / s))

    print("\n| size | batch | mode | impl | tokens/s | star / this |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        ours = next((r for r in rows if r["size"] == row["size"] and r["batch"] == row["batch"]
                     and r["impl"] == "star"
                     and r["mode"] == ("train" if row["mode"] == "train" else "kv-cache")), None)
        ratio = ours["tokens_per_second"] / row["tokens_per_second"] if ours else float("nan")
        print(f"| {row['size']} | {row['batch']} | {row['mode']} | {row['impl']} | "
              f"{row['tokens_per_second']:.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
