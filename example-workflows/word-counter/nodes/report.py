"""Join the counts and statistics into the final report."""


async def run(ctx, input):
    top_n = int(ctx.config.get("top_n", 3))
    counts = input["count-words"]["counts"]
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top_n]
    return {
        "top": [{"word": word, "count": count} for word, count in ranked],
        **input["measure"],
    }
