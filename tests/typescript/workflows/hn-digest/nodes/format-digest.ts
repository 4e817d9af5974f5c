import type { Context } from "tentacular";

export default async function run(_ctx: Context, input: { stories: Array<{ title: string; score: number }> }) {
  const lines = input.stories.map((s, i) => `${i + 1}. ${s.title} (${s.score})`);
  return { digest: lines.length ? lines.join("\n") : "No stories today.", count: lines.length };
}
