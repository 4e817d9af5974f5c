import type { Context } from "tentacular";

interface Story {
  id: number;
  title: string;
  url?: string;
  score: number;
  type?: string;
}

export default async function run(ctx: Context, _input: unknown): Promise<{ stories: Story[] }> {
  const hn = ctx.dependency("hacker-news");
  const resp = await hn.fetch!("/v0/topstories.json");
  if (!resp.ok) throw new Error(`Hacker News answered ${resp.status}`);
  const ids = await resp.json();
  if (!Array.isArray(ids)) {
    ctx.log.warn("no story ids (mock response?)");
    return { stories: [] };
  }
  const count = Number(ctx.config.story_count ?? 10);
  const stories = await Promise.all(
    ids.slice(0, count).map(async (id: number) => (await hn.fetch!(`/v0/item/${id}.json`)).json()),
  );
  ctx.log.info(`fetched ${stories.length} stories`);
  return { stories };
}
