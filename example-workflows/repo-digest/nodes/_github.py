"""Shared GitHub request helper for the fetch nodes."""


async def list_open(ctx, kind):
    github = ctx.dependency("github")
    headers = {"Accept": "application/vnd.github+json"}
    if github.secret:
        headers["Authorization"] = f"Bearer {github.secret}"
    repository = ctx.config.get("repository", "python/cpython")
    limit = int(ctx.config.get("limit", 5))
    response = await github.fetch(
        f"/repos/{repository}/{kind}", params={"state": "open", "per_page": limit}, headers=headers
    )
    response.raise_for_status()
    return [{"number": item["number"], "title": item["title"]} for item in response.json()]
