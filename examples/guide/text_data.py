"""A tiny generated sentiment corpus for the LSTM examples: no download, no framework."""

import random

SUBJECTS = ("the film", "this book", "the service", "our meal", "the plot", "the hotel",
            "this phone", "the band")
POSITIVE = ("good", "great", "excellent", "lovely", "superb", "pleasant")
NEGATIVE = ("bad", "awful", "poor", "terrible", "boring", "dreadful")
ADVERBS = ("", "really ", "truly ", "quite ", "very ")


# --8<-- [start:corpus]
def make_corpus(size: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """Short reviews and their labels (1 positive, 0 negative). "not" flips an adjective,
    so word order matters: "was not good" is negative although "good" is positive."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(size):
        positive, negated = rng.random() < 0.5, rng.random() < 0.3
        adjective = rng.choice(POSITIVE if positive != negated else NEGATIVE)
        adverb, negation = rng.choice(ADVERBS), "not " if negated else ""
        texts.append(f"{rng.choice(SUBJECTS)} was {adverb}{negation}{adjective}")
        labels.append(int(positive))
    return texts, labels
# --8<-- [end:corpus]
