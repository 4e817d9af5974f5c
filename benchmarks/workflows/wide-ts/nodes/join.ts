// Counts its parents.
export default function run(_ctx: unknown, input: Record<string, unknown>) {
  return { parents: Object.keys(input).length };
}
