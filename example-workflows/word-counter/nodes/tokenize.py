"""Split the input text into lower-case words."""

import re

DEFAULT_TEXT = "the quick brown fox jumps over the lazy dog and the quick cat"


async def run(ctx, input):
    text = input.get("text") if isinstance(input, dict) else None
    if not isinstance(text, str) or not text.strip():
        ctx.log.info("no text given, using the sample sentence")
        text = DEFAULT_TEXT
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {"words": words}
