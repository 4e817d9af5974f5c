"""Counts its parents."""


async def run(ctx, input):
    return {"parents": len(input)}
