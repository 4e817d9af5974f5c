import type { Context } from "tentacular";

export default async function run(ctx: Context, input: { summary: string }) {
  const webhook = ctx.secrets?.slack?.webhook_url;
  if (!webhook) {
    ctx.log.warn("no slack webhook configured; not sending");
    return { sent: false };
  }
  const resp = await ctx.fetch("slack", webhook, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text: input.summary }),
  });
  return { sent: resp.ok };
}
