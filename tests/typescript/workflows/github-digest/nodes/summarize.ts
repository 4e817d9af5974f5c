import type { Context } from "tentacular";

export default async function run(ctx: Context, input: { repos: unknown }) {
  if (!Array.isArray(input.repos)) return { summary: "No repositories." };
  const names = input.repos.map((r: { full_name: string; stargazers_count?: number }) =>
    `${r.full_name} ★${r.stargazers_count ?? 0}`
  );
  return { summary: `${names.length} repositories: ${names.join(", ")}` };
}
