"""Checks star's C++ Tokenizer against the reference, Hugging Face `tokenizers`.

Each test builds a tokenizer.json with `tokenizers` itself (trained here on a generated
mixed-language corpus; nothing is downloaded), encodes a different corpus (hand-written lines,
seeded random Unicode over many blocks, whitespace runs, added tokens inside text) with
`tokenizers` and with the tokenizer_tool binary ($STAR_BIN_DIR), and asserts identical ids and
identical decoded text. Decoding is also compared on random id sequences, which cut multi-byte
characters apart and so exercise the lossy UTF-8 conversion.
"""

import json
import os
import random
import subprocess
import tempfile
import unittest

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, processors, trainers

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "It's what we've been doing, isn't it? They'll see; I'd say you're right.",
    "Tokenizers split text into pieces called tokens, and models read the pieces.",
    "She sells sea shells by the sea shore; the shells she sells are surely sea shells.",
    "A journey of a thousand miles begins with a single step.",
    "Reinforcement learning from self-generated rationales improves reasoning.",
]
GERMAN = [
    "Größere Übungen für Äpfel und Öfen schaden nicht.",
    "Die Straße führt über die Brücke zum Schloß am Fluss.",
    "Müllers Bäckerei öffnet um 7 Uhr; Brötchen kosten 0,45 €.",
    "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
]
CHINESE = [
    "我们今天去公园散步，天气很好。",
    "机器学习需要大量的数据和计算资源。",
    "你好，世界！这是一个测试句子。",
    "自然语言处理是人工智能的一个重要领域。",
]
RUSSIAN = [
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Привет, мир! Как дела? Всё хорошо.",
    "Москва — столица России, город на реке Москве.",
]
ARABIC = [
    "مرحبا بالعالم، كيف حالك اليوم؟",
    "اللغة العربية جميلة جدا وغنية بالمفردات.",
    "الذكاء الاصطناعي يغير العالم ١٢٣٤٥.",
]
EMOJI = [
    "I love pizza 🍕🍕 and cats 🐈‍⬛!",
    "👍🏽 great job 🎉🎉🎉",
    "family: 👨‍👩‍👧‍👦 flags: 🇩🇪🇯🇵",
]
DIGITS = [
    "Call 555-0123 or 1234567890 now.",
    "pi = 3.14159265358979, e = 2.718281828",
    "2024-01-15T10:30:00Z and 99 bottles, 100000 steps, 7 + 35 = 42",
]
CODE = [
    "def f(x):\n\treturn x * 2\n",
    "for (int i = 0; i < n; ++i) {\n    sum += a[i];\n}\n",
    "if x  ==  y:\n\t\tprint('equal')\r\n",
    'json = {"key": [1, 2, 3], "nested": {"a": null}}',
    "#include <vector>\nint main() { return 0; }  // done\n",
]
SPACES = [
    "a  b   c    d     e",
    "   leading and trailing   ",
    "tabs\tand\nnewlines\n\n\nhere",
    "mixed \u00a0no-break\u3000ideographic\u2003em space",
]
# Text in decomposed and compatibility forms, which NFC and the other forms change.
UNNORMALIZED = [
    "Cafe\u0301 na\u0308ive A\u030angstro\u0308m \u212b \u2126hm",
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165",
    "e\u0323\u0301 vs e\u0301\u0323, q\u0307\u0323, \u0344 \u0f73 \u2000 \ufb01 \u00bd",
    "\u0958\u0959 \u09cb \u0b48 \u1e9b\u0323 \u2fc0 \uf900 \U0001d15e",
]
ALL_SAMPLES = [ENGLISH, GERMAN, CHINESE, RUSSIAN, ARABIC, EMOJI, DIGITS, CODE, SPACES, UNNORMALIZED]

# Blocks for random text: scripts, combining marks, symbols, emoji, private use, astral CJK,
# tags, and the last code points of Unicode. Surrogates cannot be encoded and are left out.
RANDOM_RANGES = [
    (0x0020, 0x007E), (0x0009, 0x000D), (0x0080, 0x00FF), (0x0100, 0x024F), (0x0250, 0x02FF),
    (0x0300, 0x036F), (0x0370, 0x03FF), (0x0400, 0x04FF), (0x0530, 0x058F), (0x0590, 0x05FF),
    (0x0600, 0x06FF), (0x0700, 0x074F), (0x0900, 0x097F), (0x0980, 0x09FF), (0x0E00, 0x0E7F),
    (0x10A0, 0x10FF), (0x1100, 0x11FF), (0x1680, 0x169F), (0x1800, 0x18AF), (0x1E00, 0x1EFF),
    (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2150, 0x218F), (0x2190, 0x21FF),
    (0x2200, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x257F), (0x2600, 0x26FF), (0x2700, 0x27BF),
    (0x2C00, 0x2C5F), (0x3000, 0x303F), (0x3040, 0x309F), (0x30A0, 0x30FF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xA000, 0xA48F), (0xAC00, 0xD7A3), (0xE000, 0xE0FF), (0xF900, 0xFAFF),
    (0xFB00, 0xFB4F), (0xFE00, 0xFE0F), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0xFFF0, 0xFFFF),
    (0x10000, 0x1007F), (0x10330, 0x1034F), (0x10400, 0x1044F), (0x1D400, 0x1D7FF),
    (0x1F000, 0x1F02F), (0x1F100, 0x1F1FF), (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F),
    (0x1F680, 0x1F6FF), (0x1F900, 0x1F9FF), (0x20000, 0x2A6DF), (0x2F800, 0x2FA1F),
    (0xE0000, 0xE007F), (0xF0000, 0xF00FF), (0x10FFF0, 0x10FFFF),
    # Blocks new in Unicode 15.1 and 16.0, where RE2's tables (15.0) needed widening.
    (0x10D40, 0x10D8F), (0x11380, 0x113FF), (0x13460, 0x143FF), (0x16100, 0x1613F),
    (0x1CC00, 0x1CEBF), (0x2EBF0, 0x2EE5F),
]
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2005\u200a\u2028\u2029\u202f\u205f\u3000"
ASCII_BITS = ["'s", "'T", "'re", "'VE", "'m", "'Ll", "'d", "'x", "s", "ſ", "123", "4567",
              "a", "Z", ".", "!!", "\r\n", "  ", "\n\n", "_", "-", "'"]


def random_text(rng, length):
    parts = []
    for _ in range(length):
        roll = rng.random()
        if roll < 0.2:
            parts.append(rng.choice(WHITESPACE) * rng.randint(1, 3))
        elif roll < 0.35:
            parts.append(rng.choice(ASCII_BITS))
        elif roll < 0.45:
            # Anywhere, assigned or not.
            code_point = rng.randint(0x80, 0x10FFFF)
            parts.append(chr(code_point) if not 0xD800 <= code_point <= 0xDFFF else "x")
        else:
            low, high = rng.choice(RANDOM_RANGES)
            parts.append(chr(rng.randint(low, high)))
    return "".join(parts)


def training_corpus():
    rng = random.Random(1234)
    syllables = ["ka", "lo", "mi", "ne", "tra", "ber", "schu", "ing", "tion", "ver", "ung"]
    lines = []
    for _ in range(1500):
        pieces = []
        for _ in range(rng.randint(1, 3)):
            pieces.append(rng.choice(rng.choice(ALL_SAMPLES)))
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))
        pieces.insert(rng.randint(0, len(pieces)), word)
        lines.append(rng.choice([" ", "\n", "  ", "\t", ""]).join(pieces))
    return lines


def evaluation_corpus(special_tokens):
    """Lines unlike the training corpus: fresh sentences, whitespace runs, added tokens in text
    and seeded random Unicode."""
    lines = [
        "",
        " ",
        "Hello world",
        " Hello world",
        "Hello  world   again    and\tagain\n",
        "Ein schöner Tag in Zürich; Ärger über Öl.",
        "东京是日本的首都。北京是中国的首都。",
        "Здравствуйте! Это проверка.",
        "السلام عليكم ورحمة الله",
        "🙂🙃 emoji 🧑‍💻 at work 🏳️‍🌈",
        "12345678901234567890 and 3.5e-10",
        "class A:\n    def __init__(self):\n\t\tpass\n\n\n",
        "I'M SURE THEY'LL COME; WE'VE WAITED. He'S here, it'T",
        "   \n\n   \t\t  \r\n  x",
        "trailing spaces   ",
        "\u3000\u3000全角空白\u3000",
        "a\u00a0b\u2009c\u202fd",
    ]
    for token in special_tokens:
        lines += [
            token,
            f"{token}{token}",
            f"before{token}after",
            f"before {token} after",
            f"  {token}  x",
            f"{token}\n\nHello",
            f"text {token[:-1]} partial",
            f"{token} ünïcödé {token}",
        ]
    rng = random.Random(20240601)
    for _ in range(400):
        lines.append(random_text(rng, rng.randint(1, 40)))
    for _ in range(60):
        text = random_text(rng, rng.randint(1, 20))
        if special_tokens:
            cut = rng.randint(0, len(text))
            text = text[:cut] + rng.choice(special_tokens) + text[cut:]
        lines.append(text)
    return lines


class TokenizerReferenceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.tool = os.path.join(os.environ["STAR_BIN_DIR"], "tokenizer_tool")
        cls.corpus = training_corpus()

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def save(self, tokenizer, name, edit=None):
        """Saves `tokenizer` as NAME.json, optionally editing the JSON first; returns the path
        and the tokenizer as `tokenizers` reads that file."""
        data = json.loads(tokenizer.to_str())
        if edit is not None:
            edit(data)
        path = self.path(f"{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
        return path, Tokenizer.from_file(path)

    def run_tool(self, tokenizer_path, lines, *flags):
        input_path = self.path("input.jsonl")
        with open(input_path, "w", encoding="utf-8") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")
        result = subprocess.run([self.tool, tokenizer_path, input_path, *flags],
                                capture_output=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        outputs = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
        self.assertEqual(len(outputs), len(lines))
        return outputs

    def assert_matches_reference(self, name, tokenizer_path, reference, texts,
                                 add_special_tokens=False):
        flags = ["--add-special-tokens"] if add_special_tokens else []
        outputs = self.run_tool(tokenizer_path, texts, *flags)
        mismatches = []
        for text, output in zip(texts, outputs):
            expected_ids = reference.encode(text, add_special_tokens=add_special_tokens).ids
            expected_text = reference.decode(expected_ids, skip_special_tokens=False)
            if output["ids"] != expected_ids or output["decoded"] != expected_text:
                mismatches.append(f"{text!r}: ids {output['ids']} vs {expected_ids}, decoded "
                                  f"{output['decoded']!r} vs {expected_text!r}")
        self.assertEqual(mismatches[:5], [], f"{name}: {len(mismatches)} of {len(texts)} differ")

    def assert_decodes_like_reference(self, name, tokenizer_path, reference, id_lists,
                                      skip_special_tokens=False):
        flags = ["--skip-special-tokens"] if skip_special_tokens else []
        outputs = self.run_tool(tokenizer_path, id_lists, *flags)
        mismatches = []
        for ids, output in zip(id_lists, outputs):
            expected = reference.decode(ids, skip_special_tokens=skip_special_tokens)
            if output["decoded"] != expected:
                mismatches.append(f"{ids}: {output['decoded']!r} vs {expected!r}")
        self.assertEqual(mismatches[:5], [], f"{name}: {len(mismatches)} of {len(id_lists)} differ")

    def random_id_lists(self, reference, count):
        rng = random.Random(77)
        size = reference.get_vocab_size(with_added_tokens=True)
        return [[rng.randrange(size) for _ in range(rng.randint(1, 12))] for _ in range(count)]

    # --- byte-level BPE as GPT-2 uses it -----------------------------------------------------

    def train_gpt2_style(self):
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
        trainer = trainers.BpeTrainer(
            vocab_size=1500, special_tokens=["<|endoftext|>", "<|pad|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
        tokenizer.train_from_iterator(self.corpus, trainer=trainer)
        self.assertGreater(tokenizer.get_vocab_size(), 1000)
        tokenizer.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True)])
        tokenizer.add_tokens([AddedToken("[NEW]"),  # normalized=True by default
                              AddedToken("newtoken", normalized=False)])
        return tokenizer

    def test_gpt2_byte_level_matches_reference(self):
        path, reference = self.save(self.train_gpt2_style(), "gpt2")
        specials = ["<|endoftext|>", "<|pad|>", "<mask>", "[NEW]", "newtoken"]
        self.assert_matches_reference("gpt2", path, reference, evaluation_corpus(specials))
        self.assert_decodes_like_reference("gpt2", path, reference,
                                           self.random_id_lists(reference, 400))
        self.assert_decodes_like_reference("gpt2", path, reference,
                                           self.random_id_lists(reference, 100),
                                           skip_special_tokens=True)

    def test_gpt2_with_prefix_space_matches_reference(self):
        def edit(data):
            data["pre_tokenizer"]["add_prefix_space"] = True
        path, reference = self.save(self.train_gpt2_style(), "gpt2_prefix", edit)
        self.assert_matches_reference("gpt2 add_prefix_space", path, reference,
                                      evaluation_corpus(["<|endoftext|>", "<mask>"]))

    def test_split_behaviors_match_reference(self):
        tokenizer = self.train_gpt2_style()
        texts = evaluation_corpus(["<|endoftext|>"])
        for behavior in ["removed", "isolated", "merged_with_previous", "merged_with_next",
                         "contiguous"]:
            for invert in [False, True]:
                tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
                    pre_tokenizers.Split(Regex(r"\p{N}+|\s+|[.,!?]"), behavior=behavior,
                                         invert=invert),
                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
                path, reference = self.save(tokenizer, f"split_{behavior}_{invert}")
                self.assert_matches_reference(f"Split {behavior} invert={invert}", path,
                                              reference, texts)
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(" ", behavior="merged_with_next"),
            pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)])
        path, reference = self.save(tokenizer, "split_string")
        self.assert_matches_reference("Split String", path, reference, texts)

    def test_split_pattern_translations_match_reference(self):
        """Oniguruma constructs that RE2 spells differently: Unicode \\w, \\d, \\s inside and
        outside classes, line anchors, inline options, empty matches."""
        tokenizer = self.train_gpt2_style()
        texts = evaluation_corpus(["<|endoftext|>"])
        patterns = [r"\w+|[^\w\s]+", r"[\p{L}\p{M}]+|\p{N}|[^\s\p{L}\p{N}]+", r"\d+|\D",
                    r"(?i)[a-k]+|\S", r"^ +| +$|^\w+", r"\s*", r"\u00e4|\x{4e2d}|\pL",
                    r"(?:ab|cd)+|(?<name>\p{^L}+)", r"[\s\d]+|[^\s\d]{2}"]
        for pattern in patterns:
            for behavior in ["isolated", "removed", "contiguous"]:
                tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
                    pre_tokenizers.Split(Regex(pattern), behavior=behavior),
                    pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False)])
                path, reference = self.save(tokenizer, "split_pattern")
                self.assert_matches_reference(f"Split /{pattern}/ {behavior}", path, reference,
                                              texts)

    # --- Llama-3 / Qwen2 style: Split with the Llama-3 pattern, then ByteLevel -----------------

    def train_llama3_style(self):
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tokenizer.decoder = decoders.ByteLevel()
        specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
        trainer = trainers.BpeTrainer(
            vocab_size=1800, special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
        tokenizer.train_from_iterator(self.corpus, trainer=trainer)
        self.assertGreater(tokenizer.get_vocab_size(), 1000)
        bos = tokenizer.token_to_id("<|begin_of_text|>")
        tokenizer.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                          special_tokens=[("<|begin_of_text|>", bos)])])
        return tokenizer, specials

    def test_llama3_split_then_byte_level_matches_reference(self):
        tokenizer, specials = self.train_llama3_style()
        path, reference = self.save(tokenizer, "llama3")
        texts = evaluation_corpus(specials)
        self.assert_matches_reference("llama3", path, reference, texts)
        self.assert_matches_reference("llama3 with special tokens", path, reference, texts[:80],
                                      add_special_tokens=True)
        self.assert_decodes_like_reference("llama3", path, reference,
                                           self.random_id_lists(reference, 300))

    def test_llama3_with_ignore_merges_matches_reference(self):
        tokenizer, specials = self.train_llama3_style()

        def edit(data):
            data["model"]["ignore_merges"] = True
        path, reference = self.save(tokenizer, "llama3_ignore_merges", edit)
        self.assert_matches_reference("llama3 ignore_merges", path, reference,
                                      evaluation_corpus(specials))

    # --- a character vocabulary: BPE without merges or pre-tokenizer, decoder Fuse -----------

    def char_tokenizer(self, fuse_unk=False):
        chars = sorted(set("".join(self.corpus)) - set("\u00e4\u00f6"))  # ä, ö stay unknown
        vocab = {"<unk>": 0}
        for c in chars:
            vocab.setdefault(c, len(vocab))
        tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>",
                                         fuse_unk=fuse_unk))
        tokenizer.decoder = decoders.Fuse()
        tokenizer.add_special_tokens(["<pad>", "<s>", "</s>"])
        return tokenizer

    def test_char_vocabulary_matches_reference(self):
        path, reference = self.save(self.char_tokenizer(), "char")
        texts = evaluation_corpus(["<pad>", "<s>", "</s>"])
        self.assert_matches_reference("char", path, reference, texts)
        self.assert_decodes_like_reference("char", path, reference,
                                           self.random_id_lists(reference, 200),
                                           skip_special_tokens=True)

    def test_char_vocabulary_with_fused_unk_matches_reference(self):
        path, reference = self.save(self.char_tokenizer(fuse_unk=True), "char_fuse")
        self.assert_matches_reference("char fuse_unk", path, reference, evaluation_corpus(["<s>"]))

    def test_char_vocabulary_without_decoder_matches_reference(self):
        tokenizer = self.char_tokenizer()
        tokenizer.decoder = None
        path, reference = self.save(tokenizer, "char_no_decoder")
        self.assert_matches_reference("char no decoder", path, reference,
                                      evaluation_corpus(["</s>"]))


    # --- SmolLM2 (StarCoder's tokenizer): Digits, then ByteLevel ---------------------------------

    def test_smollm2_digits_then_byte_level_matches_reference(self):
        tokenizer = self.train_gpt2_style()
        texts = evaluation_corpus(["<|endoftext|>"]) + UNNORMALIZED
        for individual in [True, False]:
            tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
                pre_tokenizers.Digits(individual_digits=individual),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
            path, reference = self.save(tokenizer, f"smollm2_{individual}")
            self.assert_matches_reference(f"Digits individual={individual} + ByteLevel", path,
                                          reference, texts)

    # --- Qwen2.5: NFC, then Split and ByteLevel -------------------------------------------------

    def test_qwen25_nfc_split_byte_level_matches_reference(self):
        tokenizer, specials = self.train_llama3_style()
        for form in ["NFC", "NFD"]:
            tokenizer.normalizer = getattr(normalizers, form)()
            path, reference = self.save(tokenizer, f"qwen25_{form}")
            texts = evaluation_corpus(specials) + UNNORMALIZED
            self.assert_matches_reference(f"{form} + llama3 split", path, reference, texts)

    # --- SentencePiece-style BPE: Llama-2 and TinyLlama, Mistral ---------------------------------

    def train_sentencepiece_style(self, metaspace=None):
        """A BPE with byte fallback over "▁"-marked words: Llama-2's normalizer (Prepend "▁",
        spaces to "▁") and decoder, or with `metaspace` (prepend_scheme, split) the Metaspace
        pre-tokenizer and decoder of later models. The 256 byte tokens are added to the vocab
        when the file is saved (see add_byte_tokens)."""
        specials = ["<unk>", "<s>", "</s>"]
        tokenizer = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
        if metaspace is None:
            tokenizer.normalizer = normalizers.Sequence(
                [normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
            tokenizer.decoder = decoders.Sequence([
                decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                decoders.Strip(" ", 1, 0)])
        else:
            scheme, split = metaspace
            tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
                replacement="\u2581", prepend_scheme=scheme, split=split)
            tokenizer.decoder = decoders.Sequence([
                decoders.Metaspace(replacement="\u2581", prepend_scheme=scheme, split=split),
                decoders.ByteFallback(), decoders.Fuse()])
        trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=specials,
                                      limit_alphabet=150, show_progress=False)
        tokenizer.train_from_iterator(self.corpus, trainer=trainer)
        bos = tokenizer.token_to_id("<s>")
        tokenizer.post_processor = processors.TemplateProcessing(
            single="<s> $A", special_tokens=[("<s>", bos)])
        return tokenizer, specials

    @staticmethod
    def add_byte_tokens(data):
        """Llama-2's vocab holds <0x00> .. <0xFF>; characters outside the vocab fall back to
        them. Every third byte is left out, so that some characters still become <unk>."""
        vocab = data["model"]["vocab"]
        next_id = max(vocab.values()) + 1
        for b in range(256):
            if b % 3 != 2:
                vocab[f"<0x{b:02X}>"] = next_id
                next_id += 1

    def test_llama2_style_byte_fallback_matches_reference(self):
        tokenizer, specials = self.train_sentencepiece_style()
        path, reference = self.save(tokenizer, "llama2", self.add_byte_tokens)
        texts = evaluation_corpus(specials)
        self.assert_matches_reference("llama2", path, reference, texts)
        self.assert_matches_reference("llama2 with <s>", path, reference, texts[:60],
                                      add_special_tokens=True)
        self.assert_decodes_like_reference("llama2", path, reference,
                                           self.random_id_lists(reference, 400))

    def test_metaspace_pre_tokenizer_matches_reference(self):
        for scheme, split in [("first", False), ("always", True), ("never", True)]:
            tokenizer, specials = self.train_sentencepiece_style((scheme, split))
            path, reference = self.save(tokenizer, f"metaspace_{scheme}_{split}",
                                        self.add_byte_tokens)
            label = f"Metaspace {scheme} split={split}"
            self.assert_matches_reference(label, path, reference, evaluation_corpus(specials))
            self.assert_decodes_like_reference(label, path, reference,
                                               self.random_id_lists(reference, 200))


if __name__ == "__main__":
    unittest.main()
