#!/usr/bin/env python3
"""Writes the example question files of the math and multiple_choice tasks.

examples/math/        GSM8K's format: {"question": ..., "answer": "<steps>\\n#### N", "level": L}
examples/commonsense/ CommonsenseQA's format, with a "rationale" per line

The problems are generated here from templates (no dataset is copied): one-step (level 1) and
two-step (level 2) word problems with GSM8K's calculator annotations, and "where is this kept"
questions with five choices. Deterministic: running it again writes the same files.

    python3 scripts/make_task_examples.py [--out examples]
"""

import argparse
import json
import os
import random

NAMES = ["Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kim", "Lea"]
ITEMS = ["apples", "pens", "stickers", "marbles", "books", "cards", "shells", "coins"]


def one_step(rng):
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    kind = rng.choice(["add", "sub", "mul"])
    if kind == "add":
        a, b = rng.randint(2, 40), rng.randint(2, 40)
        q = f"{name} has {a} {item}. {name} gets {b} more. How many {item} does {name} have now?"
        steps = [f"{a} + {b} = <<{a}+{b}={a + b}>>{a + b}"]
        answer = a + b
    elif kind == "sub":
        a = rng.randint(10, 60)
        b = rng.randint(1, a - 1)
        q = f"{name} has {a} {item} and gives away {b}. How many {item} are left?"
        steps = [f"{a} - {b} = <<{a}-{b}={a - b}>>{a - b}"]
        answer = a - b
    else:
        a, b = rng.randint(2, 9), rng.randint(2, 12)
        q = f"{name} buys {a} bags with {b} {item} in each bag. How many {item} does {name} buy?"
        steps = [f"{a} * {b} = <<{a}*{b}={a * b}>>{a * b}"]
        answer = a * b
    return q, steps, answer


def two_step(rng):
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    a, b, c = rng.randint(2, 30), rng.randint(2, 9), rng.randint(2, 9)
    if rng.random() < 0.5:
        q = (f"{name} has {a} {item} and buys {b} boxes of {c} {item} each. "
             f"How many {item} does {name} have?")
        steps = [f"The boxes hold {b} * {c} = <<{b}*{c}={b * c}>>{b * c} {item}.",
                 f"{a} + {b * c} = <<{a}+{b * c}={a + b * c}>>{a + b * c}"]
        answer = a + b * c
    else:
        total = b * c + a
        q = (f"{name} has {total} {item}, keeps {a} and shares the rest equally among {b} friends. "
             f"How many {item} does each friend get?")
        steps = [f"{name} shares {total} - {a} = <<{total}-{a}={total - a}>>{total - a} {item}.",
                 f"{total - a} / {b} = <<{total - a}/{b}={c}>>{c}"]
        answer = c
    return q, steps, answer


def math_line(rng, level):
    q, steps, answer = (one_step if level == 1 else two_step)(rng)
    return {"question": q, "answer": "\n".join(steps) + f"\n#### {answer}", "level": level}


# What is kept where, and why: the commonsense the multiple-choice examples ask about.
PLACES = [
    ("milk", "refrigerator", "milk spoils unless it is kept cold"),
    ("a toothbrush", "bathroom", "people brush their teeth at the bathroom sink"),
    ("a car", "garage", "a garage is a building made to shelter cars"),
    ("books", "library", "a library is where books are collected for reading"),
    ("money", "bank", "banks keep money safe for people"),
    ("a pillow", "bedroom", "people sleep with a pillow in their bed"),
    ("clothes", "closet", "a closet is a space for hanging and storing clothes"),
    ("a boat", "harbor", "boats are tied up in a harbor when not at sea"),
    ("a plane", "hangar", "a hangar is a large shed that shelters aircraft"),
    ("letters", "mailbox", "letters wait in a mailbox to be collected"),
    ("medicine", "pharmacy", "a pharmacy stores and sells medicine"),
    ("bread", "bakery", "a bakery is where bread is baked and sold"),
    ("paintings", "museum", "a museum shows paintings to visitors"),
    ("a horse", "stable", "horses are kept and fed in a stable"),
    ("tools", "toolbox", "a toolbox holds tools together"),
    ("a tent", "campsite", "tents are pitched at a campsite"),
    ("wine", "cellar", "wine is stored in a cool cellar"),
    ("fish", "aquarium", "an aquarium is a tank of water where fish live"),
    ("a bicycle", "bike rack", "a bike rack holds bicycles upright"),
    ("trash", "dumpster", "trash is thrown into a dumpster"),
    ("a train", "station", "trains stop at a station for passengers"),
    ("seeds", "garden", "seeds are planted in a garden to grow"),
    ("a piano", "concert hall", "pianos are played for audiences in a concert hall"),
    ("ice", "freezer", "ice melts unless it stays below freezing"),
    ("shoes", "shoe rack", "a shoe rack keeps pairs of shoes in order"),
    ("a lion", "zoo", "a zoo keeps wild animals for people to see"),
    ("a patient", "hospital", "a hospital is where sick people are cared for"),
    ("groceries", "pantry", "a pantry stores food that does not need cold"),
    ("a sword", "armory", "an armory is where weapons are kept"),
    ("files", "cabinet", "a filing cabinet holds papers in folders"),
    ("a baby", "crib", "a baby sleeps safely in a crib"),
    ("birds", "nest", "birds raise their young in a nest"),
    ("a violin", "case", "a violin is carried in a case to protect it"),
    ("gasoline", "tank", "a car's gasoline is held in its tank"),
    ("water", "well", "water is drawn up from a well"),
    ("a student", "classroom", "students learn in a classroom"),
    ("jewelry", "jewelry box", "a jewelry box keeps rings and necklaces safe"),
    ("a judge", "courtroom", "a judge hears cases in a courtroom"),
    ("bees", "hive", "bees live together in a hive"),
    ("soup", "pot", "soup is cooked in a pot"),
    ("a chef", "kitchen", "a chef cooks in a kitchen"),
    ("hay", "barn", "a barn stores hay for farm animals"),
    ("a ship", "dock", "ships are loaded and unloaded at a dock"),
    ("photos", "album", "an album holds photos in order"),
    ("a candle", "candlestick", "a candlestick holds a candle upright"),
    ("coffee", "mug", "coffee is drunk from a mug"),
    ("a key", "lock", "a key is turned in a lock"),
    ("snow", "mountain", "snow stays on high, cold mountains"),
    ("sand", "beach", "a beach is covered in sand"),
    ("a pilot", "cockpit", "a pilot flies a plane from the cockpit"),
    ("a monkey", "jungle", "monkeys live in the trees of a jungle"),
    ("stars", "sky", "stars are seen in the night sky"),
]


def choice_line(rng, index):
    thing, place, reason = PLACES[index]
    others = [p for i, (_, p, _) in enumerate(PLACES) if i != index]
    options = rng.sample(others, 4) + [place]
    rng.shuffle(options)
    labels = "ABCDE"
    stem = rng.choice([f"Where would you usually find {thing}?",
                       f"Where is {thing} usually kept?",
                       f"If you were looking for {thing}, where would you go?"])
    return {
        "answerKey": labels[options.index(place)],
        "id": f"example-{index:03d}",
        "question": {"question_concept": thing, "stem": stem,
                     "choices": [{"label": l, "text": t} for l, t in zip(labels, options)]},
        "rationale": f"{reason[0].upper()}{reason[1:]}.",
    }


def write(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples", help="folder to write math/ and commonsense/ into")
    args = parser.parse_args()
    rng = random.Random(2022)
    math_dir = os.path.join(args.out, "math")
    os.makedirs(math_dir, exist_ok=True)
    write(os.path.join(math_dir, "train.jsonl"), [math_line(rng, 1 + i % 2) for i in range(48)])
    write(os.path.join(math_dir, "eval.jsonl"), [math_line(rng, 1 + i % 2) for i in range(16)])
    write(os.path.join(math_dir, "few_shot.jsonl"), [math_line(rng, 1 + i % 2) for i in range(2)])
    common_dir = os.path.join(args.out, "commonsense")
    os.makedirs(common_dir, exist_ok=True)
    order = list(range(len(PLACES)))
    rng.shuffle(order)
    write(os.path.join(common_dir, "train.jsonl"), [choice_line(rng, i) for i in order[:36]])
    write(os.path.join(common_dir, "eval.jsonl"), [choice_line(rng, i) for i in order[36:48]])
    write(os.path.join(common_dir, "few_shot.jsonl"), [choice_line(rng, i) for i in order[48:]])


if __name__ == "__main__":
    main()
