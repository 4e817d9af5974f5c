// Human-readable latencies, with the "ms" package from npm (baked into the image at build time).
import ms from "npm:ms@2.1.3";
import type { Context } from "tentacular";
import type { Probe } from "./probe.ts";

export default function run(_ctx: Context, input: { probes: Probe[] }) {
  return {
    probes: input.probes.map((p) => ({ ...p, latency: ms(p.latencyMs, { long: true }) })),
  };
}
