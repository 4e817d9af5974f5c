"""Format the kept stories as a plain-text digest."""


async def run(ctx, input):
    stories = input["stories"]
    lines = [f"{i}. {s['title']} ({s['score']} points) {s['url']}".rstrip() for i, s in enumerate(stories, 1)]
    return {"count": len(stories), "digest": "\n".join(lines) or "No stories today."}
