// Pure compute: add one.
export default function run(_ctx: unknown, input: { value?: number }) {
  return { value: (typeof input === "object" && input !== null ? input.value ?? 0 : 0) + 1 };
}
