"""Join issues and pull requests into one digest text."""


async def run(ctx, input):
    issues = input["fetch-issues"]["issues"]
    pulls = input["fetch-pulls"]["pulls"]
    repository = ctx.config.get("repository", "")
    lines = [f"*{repository}*: {len(issues)} open issues, {len(pulls)} open pull requests"]
    lines += [f"• issue #{i['number']}: {i['title']}" for i in issues]
    lines += [f"• PR #{p['number']}: {p['title']}" for p in pulls]
    return {"text": "\n".join(lines)}
