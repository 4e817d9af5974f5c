"""Sleeps 200 ms (an I/O wait stand-in)."""

import asyncio


async def run(ctx, input):
    await asyncio.sleep(0.2)
    return {"slept_ms": 200}
