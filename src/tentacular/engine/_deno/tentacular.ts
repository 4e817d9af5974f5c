// The `tentacular` module TypeScript nodes import types from (the original node contract):
//   import type { Context } from "tentacular";
//   export default async function run(ctx: Context, input: unknown) { ... }
// The engine's import map resolves "tentacular" to this file; it has no runtime code.

/** A contract dependency, with its secret resolved (never injected into requests). */
export interface DependencyConnection {
  protocol: string;
  host?: string;
  port?: number;
  authType?: string;
  secret?: string;
  database?: string;
  user?: string;
  subject?: string;
  container?: string;
  /** http/https only: a request to `<protocol>://<host>:<port><path>`, `init` passed through unchanged. */
  fetch?: (path: string, init?: RequestInit) => Promise<Response>;
}

export interface Logger {
  info(msg: unknown, ...args: unknown[]): void;
  warn(msg: unknown, ...args: unknown[]): void;
  error(msg: unknown, ...args: unknown[]): void;
  debug(msg: unknown, ...args: unknown[]): void;
}

export interface Context {
  /** Declared contract dependency; throws for a name the contract does not declare. */
  dependency(name: string): DependencyConnection;
  /** Legacy: `https://api.<service>.com<path>` with auth from ctx.secrets (a drift violation). */
  fetch(service: string, path: string, init?: RequestInit): Promise<Response>;
  log: Logger;
  config: Record<string, unknown>;
  /** Legacy: the whole resolved secrets map (prefer dependency(name).secret). */
  secrets: Record<string, Record<string, string>>;
  /** Report LLM token usage of this node (run result `usage`, metrics, span attributes). */
  usage(report: {
    model: string;
    inputTokens: number;
    outputTokens: number;
    provider?: string;
    cost?: number;
  }): void;
  /** Aborted when the engine cancels this invocation (timeout, fail-fast, shutdown). */
  signal: AbortSignal;
  nodeId: string;
  runId: string;
}

export type NodeFunction = (ctx: Context, input: unknown) => unknown | Promise<unknown>;
