"""The engine's own HTTP server (engine/_httpd.py) spoken to over raw sockets: what clients rely on."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import signal
import socket
from collections.abc import AsyncIterator
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tentacular.engine._httpd import HttpServer, http_date

Scope = dict[str, Any]


async def echo(scope: Scope, receive: Any, send: Any) -> None:
    """Answers the method, path, query and body; ``/slow`` suspends first, ``/boom`` raises."""
    message = await receive()
    body = message.get("body", b"")
    if scope["path"] == "/slow":
        await asyncio.sleep(0.05)
    if scope["path"] == "/boom":
        raise ValueError("boom")
    if scope["path"] == "/stream":  # no content-length: chunked on HTTP/1.1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"one", "more_body": True})
        await send({"type": "http.response.body", "body": b"two"})
        return
    if scope["path"] == "/bad-header":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x", b"a\r\nset-cookie: 1")]})
        return
    answer = b"%s %s ?%s %d:%s" % (
        scope["method"].encode(),
        scope["path"].encode(),
        scope["query_string"],
        len(body),
        body[:20],
    )
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(answer))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


@contextlib.asynccontextmanager
async def serving(app: Any = echo, **options: Any) -> AsyncIterator[tuple[HttpServer, int, list[str]]]:
    logged: list[str] = []
    server = HttpServer(
        app,
        log=lambda level, text: logged.append(f"{level} {text}"),
        install_signal_handlers=False,
        **options,
    )
    listener = socket.create_server(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve([listener]))
    while not server.started:
        await asyncio.sleep(0.005)
    try:
        yield server, listener.getsockname()[1], logged
    finally:
        server.handle_exit(signal.SIGTERM, None)
        await asyncio.wait_for(task, 10)


async def exchange(port: int, data: bytes, *, until_close: bool = True, wait: float = 5.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    try:
        if until_close:
            return await asyncio.wait_for(reader.read(), wait)
        return await asyncio.wait_for(reader.read(65536), wait)
    finally:
        writer.close()


async def read_responses(reader: asyncio.StreamReader, count: int) -> list[bytes]:
    bodies = []
    for _ in range(count):
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        bodies.append(await reader.readexactly(length))
    return bodies


async def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    async with serving() as (_server, port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for path in (b"/a", b"/b?x=1"):
            writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            (body,) = await read_responses(reader, 1)
            assert body.startswith(b"GET " + path.split(b"?")[0])
        writer.close()


async def test_pipelined_requests_are_answered_in_order_even_when_one_suspends() -> None:
    async with serving() as (_server, port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
            b"GET /third HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        bodies = await read_responses(reader, 3)
        assert [b.split(b" ")[1] for b in bodies] == [b"/slow", b"/second", b"/third"]
        assert bodies[1].endswith(b"2:{}")
        writer.close()


async def test_chunked_request_body_and_percent_decoded_path() -> None:
    async with serving() as (_server, port, _):
        answer = await exchange(
            port,
            b"POST /a%20b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"connection: close" in answer
        assert answer.endswith(b"POST /a b ? 5:abcde")


async def test_expect_100_continue_is_answered_before_the_body() -> None:
    async with serving() as (_server, port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"data")
        (body,) = await read_responses(reader, 1)
        assert body.endswith(b"4:data")
        writer.close()


async def test_head_has_the_length_but_no_body() -> None:
    async with serving() as (_server, port, _):
        answer = await exchange(port, b"HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, rest = answer.partition(b"\r\n\r\n")
        assert b"content-length: 12" in head and rest == b""  # "HEAD /h ?  0:"


async def test_http_1_0_closes_after_the_answer_unless_asked_to_keep_it() -> None:
    async with serving() as (_server, port, _):
        answer = await exchange(port, b"GET /old HTTP/1.0\r\n\r\n")
        assert answer.endswith(b"GET /old ? 0:") and b"connection: close" in answer
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(2):
            writer.write(b"GET /kept HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            (body,) = await read_responses(reader, 1)
            assert body.startswith(b"GET /kept")
        writer.close()


async def test_garbage_gets_400_and_the_connection_closes() -> None:
    async with serving() as (_server, port, _):
        answer = await exchange(port, b"\x16\x03\x01 not http at all\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert answer.endswith(b"Invalid HTTP request received.")


async def test_an_app_exception_is_a_logged_500_and_the_server_keeps_serving() -> None:
    async with serving() as (_server, port, logged):
        answer = await exchange(port, b"GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
        assert any("Exception in ASGI application" in line and "ValueError: boom" in line for line in logged)
        assert (await exchange(port, b"GET /ok HTTP/1.0\r\n\r\n")).endswith(b"GET /ok ? 0:")


async def test_a_response_header_with_a_line_break_is_never_written() -> None:
    async with serving() as (_server, port, logged):
        answer = await exchange(port, b"GET /bad-header HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b"set-cookie" not in answer and answer.startswith(b"HTTP/1.1 500")
        assert any("line break" in line for line in logged)


async def test_a_response_without_a_length_is_chunked() -> None:
    async with serving() as (_server, port, _):
        answer = await exchange(port, b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head
        assert body == b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n"


async def test_an_incomplete_head_and_an_idle_connection_are_closed_on_their_deadlines() -> None:
    async with serving(head_timeout=0.3, keep_alive=0.6) as (_server, port, _):
        silent = await asyncio.open_connection("127.0.0.1", port)
        dribbling = await asyncio.open_connection("127.0.0.1", port)
        dribbling[1].write(b"GET /never-finished HTTP/1.1\r\nHost: x\r\n")
        assert await asyncio.wait_for(silent[0].read(), 3) == b""
        assert await asyncio.wait_for(dribbling[0].read(), 3) == b""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /kept HTTP/1.1\r\nHost: x\r\n\r\n")
        await read_responses(reader, 1)
        await asyncio.sleep(0.4)  # idle past the head timeout: still open (keep-alive's deadline)
        writer.write(b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_responses(reader, 1))[0].startswith(b"GET /again")
        assert await asyncio.wait_for(reader.read(), 3) == b""  # then idle past keep-alive
        for _reader, stream in (silent, dribbling):
            stream.close()
        writer.close()


async def test_a_body_over_the_limit_reaches_the_app_cut_at_limit_plus_one_and_the_connection_ends() -> None:
    async with serving(max_body=10) as (_server, port, _):
        answer = await exchange(
            port, b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"z" * 100
        )
        assert b"connection: close" in answer
        assert b"POST /big ? " in answer and answer.split(b"? ")[1].split(b":")[0] in (b"11", b"12")


async def test_shutdown_lets_a_run_finish_within_the_grace_period_and_cancels_it_after() -> None:
    cancelled: list[bool] = []
    release = asyncio.Event()

    async def waits(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        try:
            await (release.wait() if scope["path"] == "/finishes" else asyncio.sleep(60))
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async with serving(waits, grace_period=0.5) as (server, port, logged):
        finishing = asyncio.create_task(exchange(port, b"GET /finishes HTTP/1.1\r\nHost: x\r\n\r\n"))
        idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.1)
        server.handle_exit(signal.SIGTERM, None)
        assert await asyncio.wait_for(idle_reader.read(), 3) == b""  # idle connections close at once
        release.set()
        assert (await finishing).endswith(b"ok")  # and in-flight runs answer (connection: close)
        idle_writer.close()
    assert logged.count("info Shutting down...") == 1

    async with serving(waits, grace_period=0.3) as (server, port, _):
        stuck = asyncio.create_task(exchange(port, b"GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n"))
        await asyncio.sleep(0.1)
        server.handle_exit(signal.SIGTERM, None)
        assert await stuck == b""  # this app answers nothing when cancelled; the engine's answers 503
    assert cancelled == [True]


async def test_a_second_signal_ends_the_grace_period_at_once() -> None:
    async def forever(scope: Scope, receive: Any, send: Any) -> None:
        await asyncio.sleep(60)

    async with serving(forever, grace_period=30) as (server, port, _):
        stuck = asyncio.create_task(exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", wait=10))
        await asyncio.sleep(0.1)
        server.handle_exit(signal.SIGTERM, None)
        server.handle_exit(signal.SIGINT, None)
        assert await asyncio.wait_for(stuck, 5) == b""


@given(st.floats(min_value=0, max_value=253402300799, allow_nan=False))
def test_the_date_header_is_the_imf_fixdate_email_utils_writes(seconds: float) -> None:
    """The server formats ``date`` itself (the email package is not imported at a pod's start)."""
    assert http_date(seconds) == email.utils.formatdate(seconds, usegmt=True).encode()
