"""Does nothing."""


async def run(ctx, input):
    return {"ok": True}
