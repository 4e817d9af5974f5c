import type { Context } from "tentacular";

export default async function run(ctx: Context, input: { stories: Array<{ score: number; type?: string }> }) {
  const minScore = Number(ctx.config.min_score ?? 0);
  const stories = input.stories.filter((s) => (s.type ?? "story") === "story" && s.score >= minScore);
  return { stories };
}
