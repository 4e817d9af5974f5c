"""Open pull requests of the configured repository."""

from _github import list_open


async def run(ctx, input):
    return {"pulls": await list_open(ctx, "pulls")}
