"""Pure compute: add one."""


async def run(ctx, input):
    return {"value": (input.get("value", 0) if isinstance(input, dict) else 0) + 1}
