"""Fetch the current top stories from the Hacker News API."""

import asyncio


async def run(ctx, input):
    hn = ctx.dependency("hacker-news")
    count = int(ctx.config.get("story_count", 10))
    response = await hn.fetch("/v0/topstories.json")
    response.raise_for_status()
    ids = response.json()[:count]

    async def item(story_id):
        reply = await hn.fetch(f"/v0/item/{story_id}.json")
        reply.raise_for_status()
        return reply.json()

    stories = await asyncio.gather(*(item(story_id) for story_id in ids))
    ctx.log.info("fetched stories", count=len(stories))
    return {"stories": [s for s in stories if s]}
