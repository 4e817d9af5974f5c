// The Deno worker of the Tentacular engine: runs TypeScript nodes for the Python executor.
//
// Frames on stdin (requests) and stdout (replies): a 4-byte big-endian length, then UTF-8 JSON.
// The executor keeps the DAG, timeouts, retries and fail-fast; this process only loads node
// modules, runs one invocation per "run" frame and reports "done" / "fail". Deno's own
// permission flags (derived from the contract by the engine) are the limit node code is under.
//
// In mock mode (tntc test) a dependency's fetch builds the real Request, then asks the engine
// to answer it from the fixture's mocks; accesses are reported as "ev" frames for drift.
import { AsyncLocalStorage } from "node:async_hooks";
import processExit from "node:process";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Frame = { t: string; [key: string]: unknown };
type Dep = {
  protocol: string;
  host?: string;
  port?: number;
  authType?: string;
  secret?: string;
  database?: string;
  user?: string;
  subject?: string;
  container?: string;
};
type Services = {
  config: Record<string, Json>;
  secrets: Record<string, Record<string, string>>;
  deps: Record<string, Dep>;
  mock: boolean;
  anyDependency: boolean;
};

const MAX_FRAME = 64 * 1024 * 1024;
const MAX_OUTPUT = 32 * 1024 * 1024; // characters of a node's JSON output
const MAX_LOG = 64 * 1024; // characters of one log line
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const nodesDir = Deno.args[0] ?? "";
const workflowDir = nodesDir.replace(/\/nodes\/?$/, "");
const services = new Map<string, Services>();
const modules = new Map<string, Promise<Record<string, unknown>>>();
const active = new Map<number, AbortController>();
const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
const current = new AsyncLocalStorage<number>();
let nextCall = 1;

// --- framing ---------------------------------------------------------------------------

function send(frame: Frame): void {
  sendText(JSON.stringify(frame));
}

function sendText(json: string): void {
  const body = encoder.encode(json);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  let offset = 0;
  while (offset < out.length) offset += Deno.stdout.writeSync(out.subarray(offset));
}

async function readFrames(handle: (frame: Frame) => void): Promise<void> {
  // Deno.stdin.read into one growing buffer: cheaper per frame than the ReadableStream.
  let buffer = new Uint8Array(1 << 16);
  let start = 0;
  let end = 0;
  while (true) {
    if (end === buffer.length) {
      const grown = new Uint8Array(start > 0 && end - start < buffer.length / 2 ? buffer.length : buffer.length * 2);
      grown.set(buffer.subarray(start, end));
      end -= start;
      start = 0;
      buffer = grown;
    }
    const read = await Deno.stdin.read(buffer.subarray(end));
    if (read === null) return;
    end += read;
    while (end - start >= 4) {
      const size = new DataView(buffer.buffer, buffer.byteOffset + start, 4).getUint32(0);
      if (size > MAX_FRAME) throw new Error(`frame of ${size} bytes exceeds the limit`);
      if (end - start < 4 + size) break;
      const frame = JSON.parse(decoder.decode(buffer.subarray(start + 4, start + 4 + size))) as Frame;
      start += 4 + size;
      handle(frame);
    }
    if (start === end) start = end = 0;
  }
}

// --- errors ----------------------------------------------------------------------------

function where(text: string): string | undefined {
  // The first frame inside the workflow's nodes/ directory: where the author has to look.
  for (const match of text.matchAll(/file:\/\/([^\s()]+?):(\d+)(?::\d+)?/g)) {
    const path = decodeURIComponent(match[1]);
    if (path.startsWith(nodesDir + "/")) return `${path.slice(workflowDir.length + 1)}:${match[2]}`;
  }
  return undefined;
}

function permission(error: unknown): { kind: string; resource: string } | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    const m = /Requires (\w+) access to "?([^",]*)"?/.exec(e.message);
    if (m && (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied)) {
      return { kind: m[1], resource: m[2] };
    }
  }
  return undefined;
}

function describe(error: unknown): Frame {
  if (error instanceof Error) {
    const text = `${error.message}\n${error.stack ?? ""}`;
    return {
      t: "error",
      name: error.name || error.constructor?.name || "Error",
      message: error.message,
      where: where(text),
      permission: permission(error),
    };
  }
  return { t: "error", name: "Error", message: String(error), where: undefined };
}

// --- outputs must be strict JSON (D3) ----------------------------------------------------

const LOSSY = [Map, Set, WeakMap, WeakSet, Promise, RegExp, Error, ArrayBuffer];

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

// Where in the output the value JSON cannot carry sits, e.g. "$.tags: Set" (issue 10, Build 5).
// The path is assembled only on the way back from a problem, so a valid output costs no strings.
function jsonProblem(value: unknown, seen: Set<object>, depth: number): string | undefined {
  const found = problemAt(value, seen, depth);
  return found === undefined ? undefined : `$${found[0]}: ${found[1]}`;
}

function problemAt(value: unknown, seen: Set<object>, depth: number): [string, string] | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : ["", String(value)];
  if (typeof value !== "object") return ["", typeof value];
  if (depth > 200) return ["", "nesting deeper than 200 levels"];
  if (seen.has(value)) return ["", "a circular reference"];
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return undefined;
  if (LOSSY.some((kind) => value instanceof kind) || ArrayBuffer.isView(value)) {
    // JSON.stringify would silently turn these into {} (or index maps): refuse instead.
    return ["", (value as object).constructor?.name ?? "object"];
  }
  seen.add(value);
  for (const [key, item] of Object.entries(value as object)) {
    const found = item === undefined ? undefined : problemAt(item, seen, depth + 1);
    if (found) {
      const step = Array.isArray(value) ? `[${key}]` : PLAIN_KEY.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
      return [step + found[0], found[1]];
    }
  }
  seen.delete(value);
  return undefined;
}

// --- the context -------------------------------------------------------------------------

function base64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function unbase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function call(id: number, op: string, payload: Record<string, unknown>): Promise<unknown> {
  const cid = nextCall++;
  return new Promise((resolve, reject) => {
    calls.set(cid, { resolve, reject });
    send({ t: "call", id, cid, op, ...payload });
  });
}

function withSignal(init: RequestInit | undefined, signal: AbortSignal): RequestInit {
  const own = init?.signal;
  return { ...init, signal: own ? AbortSignal.any([own, signal]) : signal };
}

async function mockFetch(id: number, op: string, extra: Record<string, unknown>, request: Request) {
  const body = request.body ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array(0);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => (headers[key] = value));
  const reply = (await call(id, op, {
    ...extra,
    method: request.method,
    url: request.url,
    headers,
    body: base64(body),
  })) as { status: number; headers: Record<string, string>; body: string };
  const nullBody = [101, 204, 205, 304].includes(reply.status) || request.method === "HEAD";
  return new Response(nullBody ? null : unbase64(reply.body), {
    status: reply.status,
    headers: reply.headers,
  });
}

function checkNet(host: string, port: number): void {
  // Mock fetches never touch the network, but they are under the same limit as real ones.
  const target = `${host}:${port}`;
  if (Deno.permissions.querySync({ name: "net", host: target }).state !== "granted") {
    throw new Deno.errors.NotCapable(
      `Requires net access to "${target}", run again with the --allow-net flag`,
    );
  }
}

function withTrace(init: RequestInit | undefined, traceparent: string | undefined): RequestInit | undefined {
  // Propagate the node span (W3C trace context) to declared services, unless the node set one.
  if (!traceparent) return init;
  const headers = new Headers(init?.headers);
  if (!headers.has("traceparent")) headers.set("traceparent", traceparent);
  return { ...init, headers };
}

async function tracedFetch(
  id: number,
  url: string,
  init: RequestInit | undefined,
  dep: Dep,
  signal: AbortSignal,
  traceparent: string | undefined,
): Promise<Response> {
  if (!traceparent) return await fetch(url, withSignal(init, signal)); // tracing is off
  // A client span under the node's span, opened by the engine; its traceparent goes out.
  const target = new URL(url);
  const method = (init?.method ?? "GET").toUpperCase();
  const span = (await call(id, "spanStart", {
    method,
    url: target.origin + target.pathname,
    host: dep.host,
    port: dep.port,
  })) as { sid?: number; traceparent?: string };
  try {
    const response = await fetch(url, withSignal(withTrace(init, span.traceparent ?? traceparent), signal));
    send({ t: "ev", id, op: "spanEnd", sid: span.sid, status: response.status });
    return response;
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    send({ t: "ev", id, op: "spanEnd", sid: span.sid, error: { name, message } });
    throw error;
  }
}

function connection(
  id: number,
  name: string,
  dep: Dep,
  svc: Services,
  signal: AbortSignal,
  traceparent: string | undefined,
) {
  const conn: Record<string, unknown> = { ...dep };
  if (dep.protocol === "http" || dep.protocol === "https") {
    conn.fetch = async (path: string, init?: RequestInit): Promise<Response> => {
      if (path.includes("://")) {
        throw new Error(
          `dependency "${name}": fetch() takes a path on ${dep.host}, not a URL`,
        );
      }
      const url = `${dep.protocol}://${dep.host}:${dep.port}${path.startsWith("/") ? "" : "/"}${path}`;
      if (!svc.mock) return await tracedFetch(id, url, init, dep, signal, traceparent);
      checkNet(dep.host ?? "", dep.port ?? 443);
      return await mockFetch(id, "fetch", { dependency: name }, new Request(url, init));
    };
  } else {
    conn.fetch = () => {
      throw new Error(
        `dependency "${name}" uses protocol ${dep.protocol}; fetch() needs http or https`,
      );
    };
  }
  return Object.freeze(conn);
}

function recordingSecrets(id: number, secrets: Services["secrets"]) {
  return new Proxy(secrets, {
    get(target, key) {
      if (typeof key === "string") send({ t: "ev", id, op: "secret", service: key });
      return Reflect.get(target, key);
    },
    has(target, key) {
      if (typeof key === "string") send({ t: "ev", id, op: "secret", service: key });
      return Reflect.has(target, key);
    },
    set: () => false,
    deleteProperty: () => false,
  });
}

function logText(msg: unknown, args: unknown[]): string {
  const show = (v: unknown) => {
    if (typeof v === "string") return v;
    if (v instanceof Error) return `${v.name}: ${v.message}`;
    try {
      return JSON.stringify(v) ?? String(v);
    } catch {
      return String(v);
    }
  };
  const text = [msg, ...args].map(show).join(" ");
  return text.length > MAX_LOG ? `${text.slice(0, MAX_LOG)}… (${text.length - MAX_LOG} more characters)` : text;
}

function makeContext(
  id: number,
  node: string,
  run: string,
  svc: Services,
  signal: AbortSignal,
  traceparent?: string,
) {
  const log = (level: string) => (msg: unknown, ...args: unknown[]) =>
    send({ t: "log", id, level, msg: logText(msg, args) });
  return {
    nodeId: node,
    runId: run,
    signal,
    config: svc.config,
    secrets: svc.mock ? recordingSecrets(id, svc.secrets) : svc.secrets,
    log: Object.freeze({
      info: log("info"),
      warn: log("warning"),
      error: log("error"),
      debug: log("debug"),
    }),
    usage(report: Record<string, unknown>) {
      // LLM token usage; validated here so a wrong type throws in the node, as in Python.
      const model = report.model;
      const input = report.inputTokens ?? report.input_tokens;
      const output = report.outputTokens ?? report.output_tokens;
      const count = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0;
      if (typeof model !== "string" || !model || !count(input) || !count(output)) {
        throw new TypeError(
          "ctx.usage({ model, inputTokens, outputTokens }) needs a model name and non-negative integer token counts",
        );
      }
      if (report.cost !== undefined && typeof report.cost !== "number") {
        throw new TypeError("ctx.usage: cost must be a number");
      }
      const fields: Record<string, unknown> = { model, input_tokens: input, output_tokens: output };
      if (report.provider !== undefined) fields.provider = String(report.provider);
      if (report.cost !== undefined) fields.cost = report.cost;
      send({ t: "ev", id, op: "usage", fields });
    },
    dependency(name: string) {
      if (svc.mock) send({ t: "ev", id, op: "dependency", name });
      let dep = Object.hasOwn(svc.deps, name) ? svc.deps[name] : undefined;
      if (dep === undefined && svc.anyDependency) {
        dep = { protocol: "https", host: `mock-${name}.example.com`, port: 443, authType: "test-auth" };
      }
      if (dep === undefined) {
        throw new Error(
          `Dependency "${name}" not declared in contract. Add it to workflow.yaml contract.dependencies.`,
        );
      }
      return connection(id, name, dep, svc, signal, traceparent);
    },
    async fetch(service: string, path: string, init?: RequestInit): Promise<Response> {
      const url = path.startsWith("http") ? path : `https://api.${service}.com${path}`;
      const headers = new Headers(init?.headers);
      const keys = Object.hasOwn(svc.secrets, service) ? svc.secrets[service] : {};
      const injected = new Headers();
      if (keys.token) injected.set("Authorization", `Bearer ${keys.token}`);
      if (keys.api_key) injected.set("X-API-Key", String(keys.api_key));
      headers.forEach((value, key) => injected.set(key, value));
      const merged = { ...init, headers: injected };
      if (!svc.mock) return await fetch(url, withSignal(merged, signal));
      return await mockFetch(id, "legacyFetch", { service, path }, new Request(url, merged));
    },
  };
}

function deepFreeze(value: unknown): unknown {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

// --- requests ------------------------------------------------------------------------------

function loadModule(file: string): Promise<Record<string, unknown>> {
  let module = modules.get(file);
  if (module === undefined) {
    const url = "file://" + file.split("/").map(encodeURIComponent).join("/");
    module = import(url) as Promise<Record<string, unknown>>;
    modules.set(file, module);
    module.catch(() => modules.delete(file));
  }
  return module;
}

async function nodeFunction(file: string): Promise<(ctx: unknown, input: unknown) => unknown> {
  const module = await loadModule(file);
  const run = module.default;
  if (typeof run !== "function") {
    const shown = file.startsWith(workflowDir + "/") ? file.slice(workflowDir.length + 1) : file;
    const error = new Error(
      `Node at "${shown}" must export a default async function. Got: ${typeof run}`,
    );
    error.name = "NodeLoadError";
    throw error;
  }
  return run as (ctx: unknown, input: unknown) => unknown;
}

async function load(frame: Frame): Promise<void> {
  const id = frame.id as number;
  try {
    await nodeFunction(frame.file as string);
    send({ t: "done", id, output: null });
  } catch (error) {
    send({ ...describe(error), t: "fail", id });
  }
}

async function run(frame: Frame): Promise<void> {
  const id = frame.id as number;
  const svc = services.get(frame.svc as string);
  const controller = new AbortController();
  active.set(id, controller);
  try {
    if (svc === undefined) throw new Error(`engine error: unknown services ${frame.svc}`);
    const fn = await nodeFunction(frame.file as string);
    const traceparent = (frame.traceparent as string | null) ?? undefined;
    const ctx = makeContext(id, frame.node as string, frame.run as string, svc, controller.signal, traceparent);
    const output = await current.run(id, () => fn(ctx, frame.input));
    if (!active.has(id)) return; // cancelled meanwhile: the engine no longer waits
    const problem = output === undefined ? undefined : jsonProblem(output, new Set(), 0);
    if (problem) {
      send({
        t: "fail",
        id,
        name: "NotJson",
        message: `Node "${frame.node}" returned a value that is not JSON-serialisable (${problem}). ` +
          "Return objects, arrays, strings, numbers, booleans or null.",
      });
      return;
    }
    const text = output === undefined ? "null" : JSON.stringify(output);
    if (text.length > MAX_OUTPUT) {
      send({
        t: "fail",
        id,
        name: "NotJson",
        message: `Node "${frame.node}" returned ${text.length} characters of JSON; the limit is ${MAX_OUTPUT}. ` +
          "Return a summary, or store large data in a service declared in the contract.",
      });
      return;
    }
    sendText(`{"t":"done","id":${id},"output":${text}}`);
  } catch (error) {
    if (active.has(id)) send({ ...describe(error), t: "fail", id });
  } finally {
    active.delete(id);
  }
}

function reply(frame: Frame): void {
  const pending = calls.get(frame.cid as number);
  if (pending === undefined) return;
  calls.delete(frame.cid as number);
  if (frame.error !== undefined) pending.reject(new Error(frame.error as string));
  else pending.resolve(frame.value);
}

function handle(frame: Frame): void {
  switch (frame.t) {
    case "svc":
      // Shared by every invocation: read-only, like the Python side's mappings.
      services.set(frame.key as string, deepFreeze(frame.services) as Services);
      break;
    case "drop":
      services.delete(frame.key as string);
      break;
    case "load":
      load(frame);
      break;
    case "run":
      run(frame);
      break;
    case "reply":
      reply(frame);
      break;
    case "cancel": {
      const id = frame.id as number;
      active.get(id)?.abort(new DOMException("cancelled by the engine", "AbortError"));
      active.delete(id);
      send({ t: "cancelled", id });
      break;
    }
    case "ping":
      send({ t: "pong", id: frame.id });
      break;
  }
}

// console.* of node code goes to the engine's (redacting) log sink, not to the frame channel.
for (const [method, level] of [
  ["log", "info"],
  ["info", "info"],
  ["debug", "debug"],
  ["warn", "warning"],
  ["error", "error"],
] as const) {
  console[method] = (msg?: unknown, ...args: unknown[]) =>
    send({ t: "log", id: current.getStore() ?? null, level, msg: logText(msg, args) });
}

globalThis.addEventListener("unhandledrejection", (event) => {
  // A promise a node forgot to await must not bring the worker (and every other run) down.
  event.preventDefault();
  send({ t: "log", id: null, level: "error", msg: `unhandled rejection: ${logText(event.reason, [])}` });
});

// Node code (or an npm package) ending the process would fail every node running in this
// worker: exiting is refused and becomes that node's own error.
const exitWorker = Deno.exit.bind(Deno);
function refuseExit(code?: number): never {
  throw new Error(
    `exit(${code ?? ""}) refused: a node must return or throw; ending the Deno worker would fail ` +
      "every TypeScript node running in it",
  );
}
Deno.exit = refuseExit;
processExit.exit = refuseExit as typeof processExit.exit;

send({ t: "ready" });
await readFrames(handle);
exitWorker(0);
