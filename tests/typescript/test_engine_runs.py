"""TypeScript nodes in the real engine: mixed DAGs, the context API, bad input case by case."""

from __future__ import annotations

import asyncio
import os
import signal
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tentacular.engine._logs import LogSink
from tentacular.engine._runtime import RUNTIMES, load_nodes
from tentacular.engine._startup import boot
from tentacular.errors import NodeLoadError
from tentacular.spec import COMPILED_FILE, compile_workflow, load_workflow
from tests.typescript.conftest import FlowWriter, Lines, engine_for, local_contract

MIXED = {
    "root.py": """
        async def run(ctx, input):
            return {"n": input.get("n", 1)}
    """,
    "left.ts": """
        import type { Context } from "tentacular";
        export default async function run(ctx: Context, input: { n: number }) {
          ctx.log.info("left got", input.n, "secret", ctx.secrets.local.token);
          const dep = ctx.dependency("local");
          const res = await dep.fetch!("/echo?x=1", {
            method: "POST",
            headers: { Authorization: `Bearer ${dep.secret}` },
            body: JSON.stringify({ n: input.n }),
          });
          return {
            left: input.n * 2, greeting: ctx.config.greeting, status: res.status,
            echo: await res.json(), authType: dep.authType, port: dep.port,
          };
        }
    """,
    "right.ts": """
        import type { Context } from "tentacular";
        export default async function run(ctx: Context, input: { n: number }) {
          ctx.log.warn("right");
          return { right: input.n + 1, node: ctx.nodeId };
        }
    """,
    "join.py": """
        async def run(ctx, input):
            return {"sum": input["left"]["left"] + input["right"]["right"], "order": list(input)}
    """,
}
MIXED_EDGES = [("root", "left"), ("root", "right"), ("left", "join"), ("right", "join")]


def test_mixed_workflow_python_root_two_typescript_nodes_python_join(
    make_flow: FlowWriter, http_server: ThreadingHTTPServer
) -> None:
    port = http_server.server_address[1]
    flow = make_flow(MIXED, MIXED_EDGES, config={"greeting": "hi"}, contract=local_contract(port))
    log = Lines()
    engine = engine_for(flow, secrets={"local": {"token": "tok-s3cr3t"}}, log=log)
    result = asyncio.run(engine.run({"n": 5}))
    assert result.errors == {}
    left = result.outputs["left"]
    assert left["left"] == 10 and left["greeting"] == "hi" and left["status"] == 200
    assert (left["authType"], left["port"]) == ("bearer-token", port)
    assert left["echo"] == {"path": "/echo?x=1", "method": "POST", "body": '{"n":5}'}
    assert result.outputs["right"] == {"right": 6, "node": "right"}
    assert result.outputs["join"] == {"sum": 16, "order": ["left", "right"]}
    (request,) = http_server.requests  # type: ignore[attr-defined]
    assert request["auth"] == "Bearer tok-s3cr3t"  # the node applied its secret itself
    assert "[left] INFO left got 5 secret [redacted]" in log.text  # routed through the redacting sink
    assert "[right] WARN right" in log.text
    assert "tok-s3cr3t" not in log.text


def test_typescript_nodes_run_in_parallel(make_flow: FlowWriter) -> None:
    sleeper = """
        export default async function run(ctx, input) {
          await new Promise((r) => setTimeout(r, 300));
          return Date.now();
        }
    """
    flow = make_flow(
        {"root.py": "async def run(ctx, input):\n    return 1\n", "a.ts": sleeper, "b.ts": sleeper},
        [("root", "a"), ("root", "b")],
    )
    result = asyncio.run(engine_for(flow).run({}))
    assert result.errors == {}
    # Both started before either finished: the executor overlaps them in one worker.
    (a_start, a_end), (b_start, b_end) = result.node_timings["a"], result.node_timings["b"]
    assert a_start < b_end and b_start < a_end


def test_load_errors_name_the_file_and_line(make_flow: FlowWriter) -> None:
    cases = {
        "export default function run(ctx, input) {\n  const x = ;\n}\n": r"syntax error at nodes/x.ts:2",
        "export function run(ctx, input) { return 1; }\n": (
            r'Node at "nodes/x.ts" must export a default async function. Got: undefined'
        ),
        'export default "run";\n': r"must export a default async function. Got: string",
        'throw new Error("top-level boom");\n': (
            r"importing nodes/x.ts failed at nodes/x.ts:1: Error: top-level boom"
        ),
        'import { nope } from "./missing.ts";\nexport default () => nope;\n': r"importing nodes/x.ts failed",
    }
    for source, message in cases.items():
        flow = make_flow({"x.ts": source})
        with pytest.raises(NodeLoadError, match=message) as caught:
            load_nodes(flow, {"x": "nodes/x.ts"})
        assert caught.value.details["file"].endswith("nodes/x.ts")


def test_relative_imports_between_node_files(make_flow: FlowWriter) -> None:
    flow = make_flow(
        {
            "x.ts": 'import { double } from "./lib/math.ts";\n'
            "export default (ctx, input) => double(input.n);\n"
        },
        files={"lib/math.ts": "export const double = (n: number): number => n * 2;\n"},
    )
    assert asyncio.run(engine_for(flow).run({"n": 21})).outputs["x"] == 42


def test_runtime_failures_are_the_nodes_error_only(make_flow: FlowWriter) -> None:
    nodes = {
        "root.py": "async def run(ctx, input):\n    return input\n",
        "throws.ts": """
            export default async function run(ctx, input) {
              if (input.mode === "throw") {
                throw new TypeError("bad input: " + input.mode);
              }
              if (input.mode === "map") return new Map([["a", 1]]);
              if (input.mode === "fn") return { f: () => 1 };
              if (input.mode === "nan") return NaN;
              if (input.mode === "string") throw "a plain string";
              return { ok: true };
            }
        """,
    }
    engine = engine_for(make_flow(nodes, [("root", "throws")]))
    expectations = {
        "throw": "TypeError: bad input: throw (at nodes/throws.ts:3)",
        "map": 'Node "throws" returned a value that is not JSON-serialisable ($: Map)',
        "fn": 'Node "throws" returned a value that is not JSON-serialisable ($.f: function)',
        "nan": 'Node "throws" returned a value that is not JSON-serialisable ($: NaN)',
        "string": "Error: a plain string",
    }
    for mode, message in expectations.items():
        result = asyncio.run(engine.run({"mode": mode}))
        assert message in result.errors["throws"], (mode, result.errors)
        assert "root" in result.outputs
    assert asyncio.run(engine.run({"mode": "fine"})).outputs["throws"] == {"ok": True}


def test_undeclared_dependency_throws_the_original_message(make_flow: FlowWriter) -> None:
    flow = make_flow(
        {"x.ts": 'export default (ctx) => ctx.dependency("slack");\n'},
        contract={"version": "1", "dependencies": {}},
    )
    result = asyncio.run(engine_for(flow).run({}))
    assert result.errors["x"].startswith(
        'Error: Dependency "slack" not declared in contract. Add it to workflow.yaml contract.dependencies.'
    )


def test_timeout_cancels_a_pending_attempt_and_the_worker_keeps_serving(make_flow: FlowWriter) -> None:
    nodes = {
        "slow.ts": """
            export default async function run(ctx, input) {
              if (input.fast) return "fast";
              await new Promise((resolve, reject) => {
                ctx.signal.addEventListener("abort", () => reject(new Error("aborted")));
              });
              return "never";
            }
        """,
    }
    engine = engine_for(make_flow(nodes, config={"timeout": "300ms"}))
    result = asyncio.run(engine.run({}))
    assert result.errors == {"slow": 'Node "slow" timed out after 300ms'}
    generation = RUNTIMES[".ts"]._real().generation  # type: ignore[attr-defined]
    pid = generation.client.pid
    assert asyncio.run(engine.run({"fast": True})).outputs == {"slow": "fast"}
    assert generation.client.pid == pid  # aborted inside the worker: no restart needed


def test_busy_loop_past_the_timeout_restarts_the_worker(make_flow: FlowWriter) -> None:
    nodes = {
        "spin.ts": """
            export default function run(ctx, input) {
              if (input.fast) return "fast";
              while (true) {}
            }
        """,
    }
    engine = engine_for(make_flow(nodes, config={"timeout": "300ms"}))

    async def scenario() -> tuple[str, str]:
        first = await engine.run({})
        generation = RUNTIMES[".ts"]._real().generation  # type: ignore[attr-defined]
        old = generation.client
        for _ in range(300):  # the watchdog kills the stuck worker after its grace period
            if not old.alive:
                break
            await asyncio.sleep(0.1)
        second = await engine.run({"fast": True})
        assert second.success, (second.errors, old.exit_reason)
        return first.errors["spin"], second.outputs["spin"]

    error, output = asyncio.run(scenario())
    assert error == 'Node "spin" timed out after 300ms'
    assert output == "fast"


def test_exiting_the_worker_is_refused_as_the_nodes_own_error(make_flow: FlowWriter) -> None:
    nodes = {
        "root.py": "async def run(ctx, input):\n    return input\n",
        "quits.ts": """
            import process from "node:process";
            export default (ctx, input) => {
              if (input.how === "deno") Deno.exit(3);
              if (input.how === "process") process.exit(4);
              return "alive";
            };
        """,
        "other.ts": "export default async () => await new Promise((r) => setTimeout(() => r(1), 100));\n",
    }
    engine = engine_for(make_flow(nodes, [("root", "quits"), ("root", "other")]))
    for how, code in (("deno", 3), ("process", 4)):
        result = asyncio.run(engine.run({"how": how}))
        assert f"exit({code}) refused: a node must return or throw" in result.errors["quits"]
        assert "(at nodes/quits.ts:" in result.errors["quits"]
    assert asyncio.run(engine.run({})).outputs["quits"] == "alive"


def test_a_crashed_worker_fails_the_running_node_clearly_and_is_restarted(make_flow: FlowWriter) -> None:
    nodes = {
        "slow.ts": """
            export default async (ctx, input) => {
              if (input.slow) await new Promise((r) => setTimeout(r, 5000));
              return "back";
            };
        """
    }
    engine = engine_for(make_flow(nodes))

    async def crash_during_run() -> str:
        generation = RUNTIMES[".ts"]._real().generation  # type: ignore[attr-defined]
        running = asyncio.ensure_future(engine.run({"slow": True}))
        await asyncio.sleep(0.3)
        os.kill(generation.client.pid, signal.SIGKILL)  # what a V8 crash or the OOM killer does
        result = await running
        return result.errors["slow"]

    error = asyncio.run(crash_during_run())
    assert 'the Deno worker exited while node "slow" was running; it is restarted for the next run' in error
    assert asyncio.run(engine.run({})).outputs == {"slow": "back"}


def test_unhandled_rejection_does_not_take_the_worker_down(make_flow: FlowWriter) -> None:
    nodes = {"x.ts": 'export default (ctx, input) => { Promise.reject(new Error("floating")); return 1; };\n'}
    log = Lines()
    engine = engine_for(make_flow(nodes), log=log)

    async def twice() -> list[object]:
        first = await engine.run({})
        await asyncio.sleep(0.2)
        second = await engine.run({})
        return [first.outputs.get("x"), second.outputs.get("x")]

    assert asyncio.run(twice()) == [1, 1]
    assert "unhandled rejection: Error: floating" in log.text


def test_console_output_goes_to_the_log_sink(make_flow: FlowWriter) -> None:
    log = Lines()
    flow = make_flow({"x.ts": 'export default (ctx) => { console.log("hello", {a: 1}); return 1; };\n'})
    assert asyncio.run(engine_for(flow, log=log).run({})).outputs == {"x": 1}
    assert '[x] INFO hello {"a":1}' in log.text


def test_reload_picks_up_an_edited_typescript_node(make_flow: FlowWriter) -> None:
    flow = make_flow(
        {"x.ts": 'import { v } from "./v.ts";\nexport default () => v;\n'},
        files={"v.ts": "export const v = 1;\n"},
    )
    engine = engine_for(flow)
    assert asyncio.run(engine.run({})).outputs == {"x": 1}
    (Path(flow) / "nodes" / "v.ts").write_text("export const v = 2;\n")
    engine.reload()
    assert asyncio.run(engine.run({})).outputs == {"x": 2}


def test_huge_outputs_and_log_lines_are_bounded(make_flow: FlowWriter) -> None:
    log = Lines()
    nodes = {
        "big.ts": """
            export default (ctx, input) => {
              ctx.log.info("x".repeat(200000));
              if (input.huge) return { blob: "y".repeat(40 * 1024 * 1024) };
              return "small";
            };
        """
    }
    engine = engine_for(make_flow(nodes), log=log)
    result = asyncio.run(engine.run({"huge": True}))
    assert "characters of JSON; the limit is 33554432" in result.errors["big"]
    assert asyncio.run(engine.run({})).outputs == {"big": "small"}  # same worker, still serving
    assert "more characters)" in log.text
    assert max(len(line) for line in log.lines) < 70000


def test_config_and_secrets_are_read_only_for_typescript_nodes(make_flow: FlowWriter) -> None:
    nodes = {
        "a.ts": """
            export default (ctx) => {
              try { ctx.config.limit = 99; } catch (e) { return { refused: e.constructor.name }; }
              return { refused: null };
            };
        """,
        "b.ts": "export default (ctx) => ({ limit: ctx.config.limit });\n",
    }
    engine = engine_for(make_flow(nodes, [("a", "b")], config={"limit": 3}))
    result = asyncio.run(engine.run({}))
    assert result.outputs == {"a": {"refused": "TypeError"}, "b": {"limit": 3}}


def test_without_deno_a_typescript_node_is_a_clear_load_error(
    make_flow: FlowWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tentacular.engine._deno.runtime as deno_runtime

    monkeypatch.setattr(deno_runtime, "find_deno", lambda: None)
    flow = make_flow({"x.ts": "export default () => 1;\n"})
    with pytest.raises(
        NodeLoadError, match="TypeScript nodes need Deno, and no deno binary was found"
    ) as caught:
        load_nodes(flow, {"x": "nodes/x.ts"})
    assert "tentacular[typescript]" in (caught.value.hint or "")


def test_large_inputs_cross_the_frame_channel(make_flow: FlowWriter) -> None:
    flow = make_flow(
        {
            "size.ts": "export default (ctx, input) =>\n"
            "  ({ n: input.blob.length, tail: input.blob.slice(-3) });\n"
        }
    )
    engine = engine_for(flow)
    for size in (10, 70_000, 3_000_000):
        blob = "é" * (size - 3) + "end"
        assert asyncio.run(engine.run({"blob": blob})).outputs == {"size": {"n": size, "tail": "end"}}


def test_ctx_usage_from_typescript_lands_in_the_runs_usage_block(make_flow: FlowWriter) -> None:
    nodes = {
        "ask.ts": """
            export default (ctx, input) => {
              ctx.usage({ model: "claude-x", inputTokens: 12, outputTokens: 3, provider: "anthropic" });
              if (input.bad) ctx.usage({ model: "m", inputTokens: -1, outputTokens: 1 });
              return "asked";
            };
        """
    }
    engine = engine_for(make_flow(nodes))
    result = asyncio.run(engine.run({}))
    assert result.outputs == {"ask": "asked"}
    assert result.usage is not None
    assert result.usage["total"]["inputTokens"] == 12 and result.usage["total"]["outputTokens"] == 3
    bad = asyncio.run(engine.run({"bad": True}))
    assert "TypeError: ctx.usage({ model, inputTokens, outputTokens }) needs" in bad.errors["ask"]


def test_top_level_code_that_never_finishes_is_a_bounded_load_error(
    make_flow: FlowWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tentacular.engine._deno.client as deno_client

    monkeypatch.setattr(deno_client, "LOAD_TIMEOUT", 2.0)
    flow = make_flow({"stuck.ts": "while (true) {}\nexport default () => 1;\n"})
    with pytest.raises(NodeLoadError, match="did not answer within 2s") as caught:
        load_nodes(flow, {"stuck": "nodes/stuck.ts"})
    assert "top-level code" in (caught.value.hint or "")
    fine = make_flow({"fine.ts": "export default () => 'fine';\n"})
    assert asyncio.run(engine_for(fine).run({})).outputs == {"fine": "fine"}


def test_class_instances_serialise_like_json_stringify_lossy_values_fail(make_flow: FlowWriter) -> None:
    nodes = {
        "shape.ts": """
            class Story { constructor(public id: number, public title: string) {} }
            export default (ctx, input) => {
              if (input.set) return { tags: new Set(["a"]) };
              if (input.bytes) return new Uint8Array([1, 2]);
              return { story: new Story(1, "t"), when: new Date(0) };
            };
        """
    }
    engine = engine_for(make_flow(nodes))
    assert asyncio.run(engine.run({})).outputs["shape"] == {
        "story": {"id": 1, "title": "t"},
        "when": "1970-01-01T00:00:00.000Z",
    }
    assert "not JSON-serialisable ($.tags: Set)" in asyncio.run(engine.run({"set": True})).errors["shape"]
    assert "not JSON-serialisable ($: Uint8Array)" in asyncio.run(engine.run({"bytes": True})).errors["shape"]


def test_node_paths_with_spaces_and_hashes_load(tmp_path: Path) -> None:
    from tests.typescript.conftest import write_flow

    flow = write_flow(tmp_path / "my flow #1" / "wf", {"x.ts": "export default () => 'ok';\n"})
    assert asyncio.run(engine_for(flow).run({})).outputs == {"x": "ok"}


def test_dependency_requests_get_client_spans_under_the_node_span(
    make_flow: FlowWriter, http_server: ThreadingHTTPServer
) -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tentacular.engine._context import EngineServices
    from tentacular.engine._core import WorkflowEngine, build_revision, compile_dag
    from tentacular.engine._logs import LogSink
    from tentacular.engine._telemetry import Observability
    from tentacular.spec import load_workflow

    port = http_server.server_address[1]
    flow = make_flow(
        {"call.ts": 'export default async (ctx) => (await ctx.dependency("local").fetch("/t")).status;\n'},
        contract=local_contract(port),
    )
    loaded = load_workflow(flow)
    exporter = InMemorySpanExporter()
    telemetry = Observability.create(loaded.workflow, env={}, span_processor=SimpleSpanProcessor(exporter))
    services = EngineServices(
        contract=loaded.workflow.contract, log=LogSink(stream=Lines()), telemetry=telemetry
    )
    engine = WorkflowEngine(build_revision(loaded, compile_dag(loaded.workflow), services))
    assert asyncio.run(engine.run({})).outputs == {"call": 200}
    spans = exporter.get_finished_spans()
    node_span = next(s for s in spans if s.name.startswith("execute_node"))
    (client,) = [s for s in spans if s.kind.name == "CLIENT"]
    assert client.parent is not None and client.parent.span_id == node_span.context.span_id
    assert client.attributes["http.request.method"] == "GET"
    assert client.attributes["url.full"] == f"http://127.0.0.1:{port}/t"
    assert client.attributes["http.response.status_code"] == 200
    (request,) = http_server.requests  # type: ignore[attr-defined]
    trace_id = format(client.context.trace_id, "032x")
    span_id = format(client.context.span_id, "016x")
    assert request["traceparent"].startswith(f"00-{trace_id}-{span_id}-")  # propagated from the client span


def test_parallel_large_inputs_and_outputs_do_not_deadlock_the_pipes(make_flow: FlowWriter) -> None:
    # Each side writes more than a pipe holds at the same time; the engine must keep reading.
    nodes = {
        "root.py": "async def run(ctx, input):\n    return {'blob': 'x' * 3_000_000}\n",
        **{f"echo{i}.ts": "export default (ctx, input) => ({ blob: input.blob + '!' });\n" for i in range(4)},
    }
    engine = engine_for(make_flow(nodes, [("root", f"echo{i}") for i in range(4)]))

    async def bounded() -> object:
        return await asyncio.wait_for(engine.run({}), 60)

    result = asyncio.run(bounded())
    assert result.errors == {}  # type: ignore[attr-defined]
    assert all(len(result.outputs[f"echo{i}"]["blob"]) == 3_000_001 for i in range(4))  # type: ignore[attr-defined]


def test_a_node_that_scribbles_on_the_frame_channel_only_costs_a_restart(make_flow: FlowWriter) -> None:
    nodes = {
        "scribble.ts": """
            export default async (ctx, input) => {
              if (input.scribble) {
                Deno.stdout.writeSync(new Uint8Array([0, 0, 0, 5, 123, 1, 2, 3, 4]));
                await new Promise((r) => setTimeout(r, 5000));
              }
              return "clean";
            };
        """
    }
    engine = engine_for(make_flow(nodes))
    result = asyncio.run(engine.run({"scribble": True}))
    assert "the Deno worker broke the protocol" in result.errors["scribble"]
    assert asyncio.run(engine.run({})).outputs == {"scribble": "clean"}


def test_a_deployed_mixed_workflow_runs_from_its_compiled_form(
    make_flow: FlowWriter, http_server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    """In a pod both the engine and the worker's permissions come from workflow.compiled.json."""
    port = http_server.server_address[1]
    flow = make_flow(MIXED, MIXED_EDGES, config={"greeting": "hi"}, contract=local_contract(port))
    loaded = load_workflow(flow)
    (flow / COMPILED_FILE).write_text(compile_workflow(loaded.workflow, loaded.text), encoding="utf-8")
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("local:\n  token: tok-s3cr3t\n", encoding="utf-8")
    log = Lines()
    engine, prepared = boot(
        flow, secrets_path=secrets, cluster_secrets=None, log=LogSink(stream=log, fmt="text"), deployed=True
    )
    assert prepared.loaded.source == "compiled"
    result = asyncio.run(engine.run({"n": 5}))
    assert result.errors == {}
    assert result.outputs["join"] == {"sum": 16, "order": ["left", "right"]}
    assert result.outputs["left"]["greeting"] == "hi" and result.outputs["left"]["status"] == 200
    assert "Workflow loaded from its compiled form" in log.text
