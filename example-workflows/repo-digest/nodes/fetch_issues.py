"""Open issues of the configured repository."""

from _github import list_open


async def run(ctx, input):
    return {"issues": await list_open(ctx, "issues")}
