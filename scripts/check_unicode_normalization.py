#!/usr/bin/env python3
"""Checks model/unicode_normalization.cc (star::ToNfd, star::ToNfc) against Python's unicodedata2.

Builds a small driver program with g++ in a temporary folder (nothing is written to the
repository), feeds it many test strings, one a line, and compares what it prints with
unicodedata2.normalize at the Unicode version of the tables (15.0.0):

    pip install --target /tmp/ud2 unicodedata2==15.0.0
    PYTHONPATH=/tmp/ud2 python3 scripts/check_unicode_normalization.py [--cxx g++] [--seed 1]

`--driver PATH` runs an already built driver instead: a program that reads lines from stdin and
prints, for each, star::ToNfd of it and then star::ToNfc of it, each on a line of its own (the
source is DRIVER_SOURCE below). It needs no build of the project, only a C++20 compiler.

The strings: every code point (in runs of consecutive ones); every code point with a canonical
decomposition or a non-zero combining class alone, after and before combining marks in shuffled
orders; every primary composite's pair with marks and starters in between (blocking); all Hangul
syllables and random sequences of conjoining jamo; random Latin, Greek, Cyrillic, Devanagari,
Hebrew, Arabic and Vietnamese text with random combining marks; text that starts with combining
marks; hand-picked cases in the manner of NormalizationTest.txt; and byte strings that are not
valid UTF-8, which must come back unchanged. Exits 1 and prints the first differences if any.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile

UNICODE_VERSION = "15.0.0"

try:
    import unicodedata2
except ImportError:
    sys.exit(
        f"check_unicode_normalization.py needs the Python package unicodedata2=={UNICODE_VERSION}: "
        f"pip install --target /tmp/ud2 unicodedata2=={UNICODE_VERSION} and run with "
        "PYTHONPATH=/tmp/ud2"
    )

if unicodedata2.unidata_version != UNICODE_VERSION:
    sys.exit(
        f"check_unicode_normalization.py needs unicodedata2=={UNICODE_VERSION}; the installed one "
        f"has Unicode {unicodedata2.unidata_version}"
    )

DRIVER_SOURCE = r"""
// Reads lines from stdin; prints ToNfd and ToNfc of each, one line each, in that order.
#include <iostream>
#include <string>

#include "model/unicode_normalization.h"

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  std::string out;
  while (std::getline(std::cin, line)) {
    out += star::ToNfd(line);
    out += '\n';
    out += star::ToNfc(line);
    out += '\n';
  }
  std::cout << out;
  return 0;
}
"""

MAX_CODE_POINT = 0x10FFFF
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3

# The combining-mark ranges random text draws from.
MARK_RANGES = [
    (0x0300, 0x036F), (0x0591, 0x05C7), (0x0610, 0x061A), (0x093C, 0x093C), (0x094D, 0x094D),
    (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF),
]

# Base letters of random text, by script.
SCRIPT_RANGES = {
    "latin": [(0x0041, 0x005A), (0x0061, 0x007A), (0x00C0, 0x024F), (0x1E00, 0x1EFF)],
    "greek": [(0x0370, 0x03FF), (0x1F00, 0x1FFF)],
    "cyrillic": [(0x0400, 0x04FF)],
    "devanagari": [(0x0900, 0x097F)],
    "hebrew": [(0x05D0, 0x05EA), (0xFB1D, 0xFB4F)],
    "arabic": [(0x0620, 0x064A), (0x0660, 0x06FF), (0xFB50, 0xFDFF)],
    # Vietnamese: its letters precomposed and decomposed, and its tone marks.
    "vietnamese": [(0x0041, 0x005A), (0x0061, 0x007A), (0x00C0, 0x00FF), (0x0102, 0x0103),
                   (0x01A0, 0x01B0), (0x1EA0, 0x1EF9), (0x0300, 0x0303), (0x0309, 0x0309),
                   (0x0323, 0x0323)],
}


def fits_a_line(cp):
    """A scalar value (no surrogate) other than U+000A, which ends a line of the driver's input."""
    return not (0xD800 <= cp <= 0xDFFF) and cp != 0x0A


def ccc(cp):
    return unicodedata2.combining(chr(cp))


def expand(ranges):
    return [cp for lo, hi in ranges for cp in range(lo, hi + 1) if fits_a_line(cp)]


def interesting_code_points():
    """Code points with a canonical decomposition or a non-zero combining class, Hangul aside."""
    result = []
    for cp in range(MAX_CODE_POINT + 1):
        if not fits_a_line(cp) or HANGUL_FIRST <= cp <= HANGUL_LAST:
            continue
        mapping = unicodedata2.decomposition(chr(cp))
        if ccc(cp) != 0 or (mapping and not mapping.startswith("<")):
            result.append(cp)
    return result


def composition_pairs():
    """(first, second, composite) of every primary composite, Hangul aside."""
    pairs = []
    for cp in range(MAX_CODE_POINT + 1):
        if not fits_a_line(cp) or HANGUL_FIRST <= cp <= HANGUL_LAST:
            continue
        mapping = unicodedata2.decomposition(chr(cp))
        if not mapping or mapping.startswith("<"):
            continue
        parts = [int(p, 16) for p in mapping.split()]
        if len(parts) != 2:
            continue
        if unicodedata2.normalize("NFC", chr(parts[0]) + chr(parts[1])) == chr(cp):
            pairs.append((parts[0], parts[1], cp))
    return pairs


def text(cps):
    return "".join(chr(cp) for cp in cps)


def every_code_point(run):
    """All scalar values but U+000A, `run` consecutive ones to a string."""
    cps = [cp for cp in range(MAX_CODE_POINT + 1) if fits_a_line(cp)]
    return [text(cps[i:i + run]) for i in range(0, len(cps), run)]


def marks_by_class(marks):
    by_class = {}
    for cp in marks:
        by_class.setdefault(ccc(cp), []).append(cp)
    return by_class


def with_marks(rng, interesting, marks, ccc0_seconds):
    """Each interesting code point alone, after and before marks in shuffled orders."""
    strings = []
    for cp in interesting:
        strings.append(chr(cp))
        strings.append("a" + chr(cp))
        strings.append(chr(cp) + "a")
        for _ in range(3):
            picked = rng.sample(marks, rng.randint(1, 4))
            if rng.random() < 0.2:
                picked.append(rng.choice(ccc0_seconds))  # a starter that composes with some
            rng.shuffle(picked)
            strings.append(chr(cp) + text(picked))
            strings.append(text(picked) + chr(cp))
            strings.append(text(picked) + chr(cp) + text(picked[::-1]))
    return strings


def blocking(rng, pairs, marks, by_class):
    """Each primary composite's pair with nothing, a mark, several or a starter between them."""
    strings = []
    classes = sorted(c for c in by_class if c != 0)
    for first, second, composite in pairs:
        strings.append(text([first, second]))
        strings.append(text([composite]) + chr(rng.choice(marks)))
        strings.append(unicodedata2.normalize("NFD", chr(composite)) + chr(rng.choice(marks)))
        second_class = ccc(second)
        lower = [c for c in classes if c < second_class]
        same_or_higher = [c for c in classes if c >= second_class]
        for group in (lower, same_or_higher):
            if group:
                between = rng.choice(by_class[rng.choice(group)])
                strings.append(text([first, between, second]))
                strings.append(text([first, between, second, between]))
        strings.append(text([first, 0x0062, second]))  # a starter in between always blocks
        picked = rng.sample(marks, 3) + [second]
        rng.shuffle(picked)
        strings.append(text([first] + picked))
    return strings


def hangul(rng):
    """All syllables (alone and with a trailing consonant after), and random jamo sequences."""
    strings = []
    syllables = list(range(HANGUL_FIRST, HANGUL_LAST + 1))
    for i in range(0, len(syllables), 8):
        strings.append(text(syllables[i:i + 8]))
    for s in syllables:
        strings.append(chr(s) + chr(0x11A8 + (s % 27)))
    jamo = (list(range(0x1100, 0x1200)) + list(range(0xA960, 0xA97D)) + list(range(0xD7B0, 0xD7FC))
            + list(range(0x3131, 0x318F)) + [0x0301, 0x0323, 0x302E, 0x302F, 0x0041])
    modern = list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) + list(range(0x11A7, 0x11C3))
    for _ in range(20000):
        pool = modern if rng.random() < 0.7 else jamo
        strings.append(text(rng.choice(pool) for _ in range(rng.randint(1, 8))))
    for _ in range(5000):
        s = rng.choice(syllables)
        strings.append(text([s, rng.choice(modern), rng.choice(modern)]))
    return strings


def script_mix(rng, marks, count):
    strings = []
    script_cps = {name: expand(ranges) for name, ranges in SCRIPT_RANGES.items()}
    names = sorted(script_cps)
    for _ in range(count):
        pieces = []
        for _ in range(rng.randint(1, 30)):
            r = rng.random()
            if r < 0.6:
                pieces.append(chr(rng.choice(script_cps[rng.choice(names)])))
            elif r < 0.9:
                pieces.append(chr(rng.choice(marks)))
            else:
                pieces.append(rng.choice(" ,.!?0123456789"))
        strings.append("".join(pieces))
    return strings


def leading_marks(rng, marks, interesting, count):
    strings = []
    for _ in range(count):
        lead = text(rng.choice(marks) for _ in range(rng.randint(1, 5)))
        rest = text(rng.choice(interesting) for _ in range(rng.randint(0, 4)))
        strings.append(lead + rest)
    return strings


def hand_picked():
    cases = [
        "", "a", "abc", "caf\u00e9", "cafe\u0301", "\u00c5", "\u212b", "\u2126", "A\u030a",
        "\u1e0b\u0323", "\u1e0d\u0307", "d\u0323\u0307", "d\u0307\u0323", "q\u0307\u0323",
        "\u1e0b\u031b\u0323", "a\u0323\u0302", "a\u0302\u0323", "\u1ea0\u0302", "\u1ead",
        "e\u0304\u0301", "\u0113\u0301", "\u0344", "\u0308\u0301", "\u0f73", "\u0f75", "\u0f81",
        "\u0958", "\u0915\u093c", "\u2adc", "\u2add\u0338", "\ufb1d", "\u05d9\u05b4", "\U0001d15e",
        "\U0001d157\U0001d165", "\U000110ab", "\U00011099\U000110ba", "\u0b47\u0b3e", "\u0b4b",
        "\u0b47\u0300\u0b3e", "\u0b47\u0b3e\u0300", "\u1100\u1161", "\u1100\u1161\u11a8",
        "\u1100\u11a8", "\uac00\u11a8", "\uac00\u11a7", "\uac01\u11a8", "\u1100\u0300\u1161",
        "\u0301", "\u0301a", "\u0301\u0300a\u0301", "\u0300\u0316\u0301\u0317",
        "a\u0334\u0301\u0300",
        "a\u05b0\u05b1\u05b2\u05b3\u05b4\u05b5", "\u0387", "\u00b7", "\u037e", "\u1fee", "\u1fef",
        "\u0340\u0341\u0343", "\u2000\u2001", "\u2329\u232a", "\uf900\ufa10\ufad9", "\U0002f800",
        "\U0002fa1d", "\u0374", "\u0e33", "\u00c7\u0301", "C\u0327\u0301", "C\u0301\u0327",
        "\u1e08", "\u0106\u0327", "o\u031b\u0323\u0300", "\u1ee3\u0300", "\u01d5\u0301",
        "\u0041" + "\u0301" * 300, "x" + "\u0316\u0301" * 200, "\u0300" * 50,
        "Vi\u1ec7t Nam", "Tie\u0302\u0301ng Vie\u0323\u0302t", "\u00e0\u1ea3\u00e3\u00e1\u1ea1",
    ]
    return cases


def invalid_byte_strings():
    return [
        b"\x80", b"abc\x80", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xe0\x9f\xbf",
        b"\xed\xa0\x80", b"\xed\xbf\xbf", b"e\xcc\x81\xed\xa0\x80", b"\xf0\x8f\xbf\xbf",
        b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff", b"\xfe", b"\xc3", b"e\xcc",
        b"\xe1\x84", b"\xf0\x9d\x85", b"caf\xc3\xa9\xc3", b"\xc3\xa9\xa9",
        b"A\xcc\x8a\xf8\x88\x80\x80\x80",
    ]


def build_driver(cxx, root, folder):
    source = os.path.join(folder, "unorm_check.cc")
    binary = os.path.join(folder, "unorm_check")
    with open(source, "w", encoding="utf-8") as f:
        f.write(DRIVER_SOURCE)
    command = [cxx, "-std=c++20", "-O1", f"-I{root}", source,
               os.path.join(root, "model", "unicode_normalization.cc"), "-o", binary]
    subprocess.run(command, check=True)
    return binary


def describe(data):
    return " ".join(f"{ord(c):04X}" for c in data.decode("utf-8", errors="surrogateescape"))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--driver", help="an already built driver (see above)")
    parser.add_argument("--cxx", default="g++", help="the compiler that builds the driver")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--random", type=int, default=50000,
                        help="how many random strings of mixed scripts (a fifth as many start "
                        "with combining marks)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    marks = expand(MARK_RANGES)
    interesting = interesting_code_points()
    pairs = composition_pairs()
    by_class = marks_by_class([cp for cp in interesting if ccc(cp) != 0])
    ccc0_seconds = sorted({second for _, second, _ in pairs if ccc(second) == 0})

    strings = hand_picked()
    strings += every_code_point(32)
    strings += with_marks(rng, interesting, marks, ccc0_seconds)
    strings += blocking(rng, pairs, marks, by_class)
    strings += hangul(rng)
    strings += script_mix(rng, marks, args.random)
    strings += leading_marks(rng, marks, interesting, args.random // 5)
    assert all("\n" not in s for s in strings)

    lines = [s.encode("utf-8") for s in strings] + invalid_byte_strings()
    expected = []
    for s in strings:
        expected.append(unicodedata2.normalize("NFD", s).encode("utf-8"))
        expected.append(unicodedata2.normalize("NFC", s).encode("utf-8"))
    for data in invalid_byte_strings():
        expected += [data, data]

    with tempfile.TemporaryDirectory() as folder:
        driver = args.driver or build_driver(args.cxx, root, folder)
        result = subprocess.run([driver], input=b"\n".join(lines) + b"\n", stdout=subprocess.PIPE,
                                check=True)
    got = result.stdout.split(b"\n")
    if got and got[-1] == b"":
        got.pop()
    if len(got) != len(expected):
        sys.exit(f"the driver printed {len(got)} lines for {len(lines)} strings "
                 f"(expected {len(expected)})")

    differences = []
    for i, (want, have) in enumerate(zip(expected, got)):
        if want != have:
            differences.append((i // 2, "NFD" if i % 2 == 0 else "NFC", want, have))
    for index, form, want, have in differences[:20]:
        print(f"{form} of [{describe(lines[index])}]: expected [{describe(want)}], "
              f"got [{describe(have)}]")
    print(f"{len(lines)} strings ({sum(map(len, lines))} bytes), NFD and NFC of each: "
          f"{len(differences)} differences from unicodedata2 {unicodedata2.unidata_version}")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
