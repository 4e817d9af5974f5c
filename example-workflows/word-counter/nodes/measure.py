"""Basic statistics of the word list."""


async def run(ctx, input):
    words = input["words"]
    total = len(words)
    average = round(sum(len(w) for w in words) / total, 2) if total else 0.0
    return {"total": total, "unique": len(set(words)), "averageLength": average}
