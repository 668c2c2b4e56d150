#!/usr/bin/env python3
"""Writes model/unicode_normalization_tables.inc, the tables of canonical normalization (NFD, NFC).

The tables come from the Unicode Character Database as the `unicodedata2` package ships it, pinned
to Unicode 15.0.0 (the version ICU 72 implements, which the tokenizer used before it had its own
normalization). The package is needed only to run this script, never to build:

    pip install --target /tmp/ud2 unicodedata2==15.0.0
    PYTHONPATH=/tmp/ud2 python3 scripts/make_unicode_tables.py [--out FILE]

Deterministic: running it again writes the same file. The file holds, each sorted by code point so
that model/unicode_normalization.cc finds entries by binary search:

  kCombiningClasses       the Canonical_Combining_Class of every code point whose class is not 0;
  kDecompositions         the full canonical decomposition (applied recursively, in canonical
                          order) of every code point that has a canonical decomposition, as a
                          start and length in kDecompositionCodePoints; Hangul syllables are left
                          out (they are decomposed algorithmically);
  kCompositions           the primary composites: (first, second) -> composite for every code
                          point whose one-step canonical decomposition is two code points and
                          that is not excluded from composition, sorted by (first, second).
"""

import argparse
import os
import sys

UNICODE_VERSION = "15.0.0"

try:
    import unicodedata2
except ImportError:
    sys.exit(
        f"make_unicode_tables.py needs the Python package unicodedata2=={UNICODE_VERSION}: "
        f"pip install --target /tmp/ud2 unicodedata2=={UNICODE_VERSION} and run with "
        "PYTHONPATH=/tmp/ud2"
    )

if unicodedata2.unidata_version != UNICODE_VERSION:
    sys.exit(
        f"make_unicode_tables.py needs unicodedata2=={UNICODE_VERSION} (Unicode "
        f"{UNICODE_VERSION}); the installed one has Unicode {unicodedata2.unidata_version}"
    )

MAX_CODE_POINT = 0x10FFFF
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
LINE_WIDTH = 100
INDENT = "    "


def is_surrogate(cp):
    return 0xD800 <= cp <= 0xDFFF


def canonical_mapping(cp):
    """The one-step canonical decomposition of `cp`; None if it has none or a compatibility one."""
    mapping = unicodedata2.decomposition(chr(cp))
    if not mapping or mapping.startswith("<"):
        return None
    return [int(part, 16) for part in mapping.split()]


def full_decomposition(cp):
    """The canonical decomposition applied until nothing decomposes, in canonical order."""
    mapping = canonical_mapping(cp)
    if mapping is None:
        return [cp]
    result = []
    for part in mapping:
        if HANGUL_FIRST <= part <= HANGUL_LAST:
            sys.exit(f"U+{cp:04X} decomposes to the Hangul syllable U+{part:04X}: not supported")
        result.extend(full_decomposition(part))
    # Canonical ordering: a stable sort of every run of non-starters by combining class.
    ordered, run = [], []
    for part in result:
        if unicodedata2.combining(chr(part)) == 0:
            ordered.extend(sorted(run, key=lambda c: unicodedata2.combining(chr(c))))
            run = []
            ordered.append(part)
        else:
            run.append(part)
    ordered.extend(sorted(run, key=lambda c: unicodedata2.combining(chr(c))))
    return ordered


def collect():
    combining_classes = []  # (code point, class)
    decompositions = []  # (code point, [code points])
    compositions = []  # (first, second, composite)
    for cp in range(MAX_CODE_POINT + 1):
        if is_surrogate(cp):
            continue
        ch = chr(cp)
        ccc = unicodedata2.combining(ch)
        if ccc != 0:
            combining_classes.append((cp, ccc))
        if HANGUL_FIRST <= cp <= HANGUL_LAST:
            continue
        mapping = canonical_mapping(cp)
        if mapping is None:
            continue
        full = full_decomposition(cp)
        if "".join(map(chr, full)) != unicodedata2.normalize("NFD", ch):
            sys.exit(f"the decomposition of U+{cp:04X} differs from unicodedata2's NFD")
        decompositions.append((cp, full))
        if len(mapping) == 2:
            first, second = mapping
            # Excluded composites (script-specific, post-composition-version, singletons' and
            # non-starter decompositions) are exactly those NFC does not produce from the pair.
            if unicodedata2.normalize("NFC", chr(first) + chr(second)) == ch:
                compositions.append((first, second, cp))
    compositions.sort()
    # unicode_normalization.cc keeps a composite as the last starter, with class 0.
    for first, _, composite in compositions:
        if unicodedata2.combining(chr(first)) or unicodedata2.combining(chr(composite)):
            sys.exit(f"the primary composite U+{composite:04X} or its first part is not a starter")
    return combining_classes, decompositions, compositions


def wrap(items):
    """`items` (C++ initializers) several to a line, each line indented and ending in a comma."""
    lines, line = [], INDENT
    for item in items:
        piece = item + ","
        if line != INDENT and len(line) + 1 + len(piece) > LINE_WIDTH:
            lines.append(line)
            line = INDENT
        line += piece if line == INDENT else " " + piece
    if line != INDENT:
        lines.append(line)
    return "\n".join(lines)


def hex_cp(cp):
    return f"0x{cp:04X}"


def render(combining_classes, decompositions, compositions):
    flat = []
    decomposition_items = []
    for cp, full in decompositions:
        decomposition_items.append(f"{{{hex_cp(cp)}, {len(flat)}, {len(full)}}}")
        flat.extend(full)
    if len(flat) > 0xFFFF or max(len(full) for _, full in decompositions) > 0xFF:
        sys.exit("the decompositions no longer fit DecompositionEntry's uint16_t start and "
                 "uint8_t length")
    out = [
        "// Generated by scripts/make_unicode_tables.py from the Unicode Character Database "
        f"{UNICODE_VERSION}",
        f"// (Python package unicodedata2=={UNICODE_VERSION}). Do not edit by hand: run the script "
        "again.",
        "// Included only by model/unicode_normalization.cc, inside its anonymous namespace, after "
        "the",
        "// entry types CombiningClassEntry, DecompositionEntry and CompositionEntry.",
        "",
        f'constexpr std::string_view kUnicodeTablesVersion = "{UNICODE_VERSION}";',
        "",
        "// The canonical combining class of every code point whose class is not 0, by code point "
        f"({len(combining_classes)}).",
        "constexpr CombiningClassEntry kCombiningClasses[] = {",
        wrap(f"{{{hex_cp(cp)}, {ccc}}}" for cp, ccc in combining_classes),
        "};",
        "",
        "// The code points of every full canonical decomposition, one after another "
        f"({len(flat)}).",
        "constexpr char32_t kDecompositionCodePoints[] = {",
        wrap(hex_cp(cp) for cp in flat),
        "};",
        "",
        "// {code point, start in kDecompositionCodePoints, length} of every code point with a "
        "canonical",
        "// decomposition, Hangul syllables aside, by code point "
        f"({len(decompositions)}).",
        "constexpr DecompositionEntry kDecompositions[] = {",
        wrap(decomposition_items),
        "};",
        "",
        "// {first, second, composite} of every primary composite, by (first, second) "
        f"({len(compositions)}).",
        "constexpr CompositionEntry kCompositions[] = {",
        wrap(f"{{{hex_cp(a)}, {hex_cp(b)}, {hex_cp(c)}}}" for a, b, c in compositions),
        "};",
        "",
    ]
    return "\n".join(out)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=os.path.join(root, "model", "unicode_normalization_tables.inc")
    )
    args = parser.parse_args()
    combining_classes, decompositions, compositions = collect()
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(render(combining_classes, decompositions, compositions))
    print(
        f"{args.out}: {len(combining_classes)} combining classes, {len(decompositions)} "
        f"decompositions, {len(compositions)} compositions (Unicode {UNICODE_VERSION})"
    )


if __name__ == "__main__":
    main()
