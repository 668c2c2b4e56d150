"""The decoder against transformers, the reference implementation.

Tiny random Llama and Qwen2 models (GQA and MHA, tied and untied heads, q/k/v biases) are
built and saved by transformers with save_pretrained; the C++ decoder loads them and must give
the same logits (float32, max abs diff <= 1e-4) and the same greedy continuations. A checkpoint
written by the C++ side must load in transformers and give the C++ logits.
"""

import json
import math
import os
import subprocess
import tempfile
import unittest

import torch
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM,
                          Qwen3Config, Qwen3ForCausalLM)

PROBE = os.path.join(os.environ["STAR_BIN_DIR"], "star-model-probe")
TOLERANCE = 1e-4

ROWS = [
    [3, 17, 42, 8, 99, 5],
    [61, 2, 33, 7, 18, 27, 90, 11, 4, 76],
    [12, 45, 6],
]

VARIANTS = {
    "llama_gqa_untied": (LlamaConfig, LlamaForCausalLM, dict(
        num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)),
    "llama_mha_tied": (LlamaConfig, LlamaForCausalLM, dict(
        num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=True,
        rope_theta=500000.0)),
    "llama_attention_bias": (LlamaConfig, LlamaForCausalLM, dict(
        num_attention_heads=4, num_key_value_heads=1, tie_word_embeddings=False,
        attention_bias=True)),
    "qwen2_bias_gqa": (Qwen2Config, Qwen2ForCausalLM, dict(
        num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)),
    "qwen2_bias_tied": (Qwen2Config, Qwen2ForCausalLM, dict(
        num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True)),
    # Qwen3: q/k RMSNorm per head, head_dim apart from hidden_size / heads.
    "qwen3_qk_norm_head_dim": (Qwen3Config, Qwen3ForCausalLM, dict(
        num_attention_heads=4, num_key_value_heads=2, head_dim=24, tie_word_embeddings=False)),
    "qwen3_bias_tied": (Qwen3Config, Qwen3ForCausalLM, dict(
        num_attention_heads=4, num_key_value_heads=1, head_dim=16, tie_word_embeddings=True,
        attention_bias=True)),
    # Llama 3's rope scaling; an original context of 64 puts the 16-wide heads' frequencies in
    # all three bands (scaled, blended, kept) within the rows' positions.
    "llama3_rope_scaling": (LlamaConfig, LlamaForCausalLM, dict(
        num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
        rope_parameters=dict(rope_type="llama3", rope_theta=500000.0, factor=8.0,
                             low_freq_factor=1.0, high_freq_factor=4.0,
                             original_max_position_embeddings=64))),
}


def probe(*args):
    result = subprocess.run([PROBE, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"star-model-probe {args[0]} failed: {result.stderr}")
    return json.loads(result.stdout)


def build_model(config_class, model_class, extra, seed):
    config = config_class(vocab_size=128, hidden_size=64, intermediate_size=160,
                          num_hidden_layers=3, max_position_embeddings=256, rms_norm_eps=1e-6,
                          **extra)
    torch.manual_seed(seed)
    model = model_class(config).eval()
    # transformers initialises with std 0.02, which leaves every logit near zero and would let a
    # wrong implementation pass; give the weights a scale at which mistakes show.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0.0, 1.0 / math.sqrt(p.shape[1]))
            elif name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0.0, 0.2)
    return model


class LlamaReferenceTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def check_logits(self, model, directory, label):
        ours = probe("logits", directory, json.dumps(ROWS))
        with torch.no_grad():
            for row, mine in zip(ROWS, ours):
                ref = model(torch.tensor([row])).logits[0]
                self.assertGreater(ref.std().item(), 0.3, f"{label}: logits too flat to compare")
                diff = (torch.tensor(mine) - ref).abs().max().item()
                self.assertLessEqual(diff, TOLERANCE, f"{label}: max abs diff {diff}")

    def test_transformers_checkpoints_give_the_same_logits_and_greedy_tokens(self):
        for seed, (label, (config_class, model_class, extra)) in enumerate(VARIANTS.items()):
            with self.subTest(label):
                model = build_model(config_class, model_class, extra, seed)
                directory = os.path.join(self.tmp.name, label)
                model.save_pretrained(directory, safe_serialization=True)
                self.assertTrue(os.path.exists(os.path.join(directory, "model.safetensors")))
                self.check_logits(model, directory, label)

                new_tokens = 16
                ours = probe("generate", directory, json.dumps(ROWS), str(new_tokens))
                distinct = set()
                for row, mine in zip(ROWS, ours):
                    with torch.no_grad():
                        out = model.generate(torch.tensor([row]), max_new_tokens=new_tokens,
                                             min_new_tokens=new_tokens, do_sample=False,
                                             eos_token_id=None, pad_token_id=0)
                    ref = out[0, len(row):].tolist()
                    self.assertEqual(mine, ref, f"{label}: greedy continuation of {row}")
                    distinct.update(ref)
                self.assertGreater(len(distinct), 3, f"{label}: degenerate continuations")

    def test_bf16_checkpoints_load_and_stay_bf16(self):
        """A bfloat16 checkpoint (as most released ones are) loads in its dtype and gives
        transformers' bfloat16 logits within bfloat16's resolution."""
        for seed, label in enumerate(["qwen2_bias_gqa", "qwen3_qk_norm_head_dim"]):
            with self.subTest(label):
                config_class, model_class, extra = VARIANTS[label]
                model = build_model(config_class, model_class, extra, seed).to(torch.bfloat16)
                directory = os.path.join(self.tmp.name, f"{label}-bf16")
                model.save_pretrained(directory, safe_serialization=True)
                with open(os.path.join(directory, "config.json")) as f:
                    written = json.load(f)
                self.assertEqual(written.get("dtype", written.get("torch_dtype")), "bfloat16")
                ours = probe("logits", directory, json.dumps(ROWS))
                with torch.no_grad():
                    for row, mine in zip(ROWS, ours):
                        ref = model(torch.tensor([row])).logits[0].float()
                        scale = ref.abs().max().item()
                        diff = (torch.tensor(mine) - ref).abs().max().item()
                        # Two bf16 computations in different orders: within a few of bf16's
                        # 2^-8 relative steps of the largest logit.
                        self.assertLessEqual(diff, 0.05 * scale, f"{label}: max abs diff {diff}")

    def test_checkpoint_written_here_loads_in_transformers(self):
        for label, (config_class, model_class, extra) in VARIANTS.items():
            with self.subTest(label):
                config = config_class(vocab_size=128, hidden_size=64, intermediate_size=160,
                                      num_hidden_layers=2, max_position_embeddings=256,
                                      rms_norm_eps=1e-6, **extra)
                config_path = os.path.join(self.tmp.name, f"{label}-config.json")
                config.to_json_file(config_path)
                directory = os.path.join(self.tmp.name, f"{label}-ours")
                probe_result = subprocess.run([PROBE, "init", config_path, directory, "7"],
                                              capture_output=True, text=True)
                self.assertEqual(probe_result.returncode, 0, probe_result.stderr)
                loaded, info = model_class.from_pretrained(directory, output_loading_info=True)
                loaded.eval()
                # transformers must find every tensor it expects and nothing else.
                self.assertEqual(list(info["missing_keys"]), [], label)
                self.assertEqual(list(info["unexpected_keys"]), [], label)
                self.assertEqual(list(info["mismatched_keys"]), [], label)
                ours = probe("logits", directory, json.dumps(ROWS))
                with torch.no_grad():
                    for row, mine in zip(ROWS, ours):
                        ref = loaded(torch.tensor([row])).logits[0]
                        diff = (torch.tensor(mine) - ref).abs().max().item()
                        self.assertLessEqual(diff, TOLERANCE, f"{label}: max abs diff {diff}")
                        # With std 0.02 weights logits are small; they still must not be zero.
                        self.assertGreater(ref.abs().max().item(), 1e-3)


if __name__ == "__main__":
    unittest.main()
