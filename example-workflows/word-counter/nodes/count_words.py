"""Count how often each word occurs."""

from collections import Counter


def run(ctx, input):
    counts = Counter(input["words"])
    return {"counts": dict(sorted(counts.items()))}
