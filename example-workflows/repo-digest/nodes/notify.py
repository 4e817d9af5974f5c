"""Post the digest to Slack; without a webhook URL, report what would be sent."""

from urllib.parse import urlsplit


async def run(ctx, input):
    slack = ctx.dependency("slack")
    if not slack.secret:
        ctx.log.warning("slack.webhook_url is not set; not posting")
        return {"posted": False, "text": input["text"]}
    # The secret is the whole webhook URL; only its path is ours to send, the host is declared.
    response = await slack.fetch(urlsplit(slack.secret).path, method="POST", json={"text": input["text"]})
    response.raise_for_status()
    return {"posted": True, "text": input["text"]}
