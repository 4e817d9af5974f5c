import type { Context } from "tentacular";

export default async function run(ctx: Context, input: { down: string[] }) {
  if (input.down.length === 0) return { alerted: false };
  const slack = ctx.dependency("slack");
  if (!slack.secret) return { alerted: false, reason: "no webhook configured" };
  // webhook-url: the secret is the full URL; its host is declared for egress.
  const url = new URL(slack.secret);
  const resp = await slack.fetch!(url.pathname, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text: `DOWN: ${input.down.join(", ")}` }),
  });
  return { alerted: resp.ok, status: resp.status };
}
