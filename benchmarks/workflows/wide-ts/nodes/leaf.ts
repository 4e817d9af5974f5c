// Does nothing.
export default function run() {
  return { ok: true };
}
