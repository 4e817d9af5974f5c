// Probe every site listed in config.sites; each one is a declared contract dependency.
import type { Context } from "tentacular";

export interface Probe {
  site: string;
  up: boolean;
  status: number;
  latencyMs: number;
}

export default async function run(ctx: Context, _input: unknown): Promise<{ probes: Probe[] }> {
  const sites = (ctx.config.sites as string[] | undefined) ?? [];
  const probes = await Promise.all(sites.map(async (site): Promise<Probe> => {
    const started = performance.now();
    try {
      const response = await ctx.dependency(site).fetch!("/", { method: "HEAD" });
      return { site, up: response.ok, status: response.status, latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      ctx.log.warn(`probing ${site} failed: ${(error as Error).message}`);
      return { site, up: false, status: 0, latencyMs: Math.round(performance.now() - started) };
    }
  }));
  ctx.log.info(`probed ${probes.length} site(s)`);
  return { probes };
}
