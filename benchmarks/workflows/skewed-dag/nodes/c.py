"""Sleeps 20 ms (an I/O wait stand-in)."""

import asyncio


async def run(ctx, input):
    await asyncio.sleep(0.02)
    return {"slept_ms": 20}
