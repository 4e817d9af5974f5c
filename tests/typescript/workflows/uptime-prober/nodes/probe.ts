import type { Context } from "tentacular";

export default async function run(ctx: Context, _input: unknown) {
  const names = (ctx.config.endpoints as string[]) ?? [];
  const results = [];
  for (const name of names) {
    const dep = ctx.dependency(name);
    const started = Date.now();
    try {
      const resp = await dep.fetch!("/health");
      results.push({ name, up: resp.ok, status: resp.status });
    } catch (err) {
      results.push({ name, up: false, status: 0, error: (err as Error).message });
    }
    ctx.log.debug(`probed ${name} in ${Date.now() - started}ms`);
  }
  return { results, down: results.filter((r) => !r.up).map((r) => r.name) };
}
