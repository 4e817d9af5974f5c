"""Keep stories at or above the configured score, best first."""


async def run(ctx, input):
    min_score = int(ctx.config.get("min_score", 0))
    kept = [
        {"title": s.get("title", ""), "url": s.get("url", ""), "score": s.get("score", 0)}
        for s in input["stories"]
        if s.get("type", "story") == "story" and s.get("score", 0) >= min_score
    ]
    kept.sort(key=lambda s: -s["score"])
    return {"stories": kept}
