"""The shared HTTP client's transport wrapper: CLIENT spans, ``traceparent``, LLM usage recognition.

It sits under ``ctx.dependency(...).fetch`` and legacy ``ctx.fetch``. The span ends
when the response body has been read (httpx reads it before ``fetch`` returns), so
a recognised LLM answer puts its GenAI attributes on the request's own span.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

from tentacular.engine._telemetry._llm import recognise_response, wants_body

if TYPE_CHECKING:
    from tentacular.engine._telemetry import AttemptProbe, Observability

_MAX_CAPTURE = 8 * 1024 * 1024


class InstrumentedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, inner: httpx.AsyncBaseTransport | None, observability: Observability, *, limits: Any
    ) -> None:
        self._inner = inner if inner is not None else httpx.AsyncHTTPTransport(limits=limits)
        self._observability = observability

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        from tentacular.engine._telemetry import CURRENT_ATTEMPT

        observability = self._observability
        tracing = observability.tracing
        probe = CURRENT_ATTEMPT.get()
        capture = probe is not None and wants_body(request.url.path)
        span = None
        if tracing is not None:
            url = str(request.url.copy_with(query=None, fragment=None))
            redact = observability.redact
            if redact is not None:
                url = redact(url)
            span = tracing.start_client(
                request.method,
                url,
                request.url.host,
                request.url.port,
                parent=probe if probe is not None and probe.traced else None,
            )
            tracing.inject(span, request.headers)
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException as exc:
            if span is not None and tracing is not None:
                tracing.end_client(span, None, exc)
            raise
        if span is None and not capture:
            return response
        stream = _ObservedStream(
            response.stream,  # type: ignore[arg-type]
            observability=observability,
            span=span,
            status=response.status_code,
            probe=probe if capture else None,
            path=request.url.path,
            content_type=response.headers.get("content-type", ""),
        )
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=stream,
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _ObservedStream(httpx.AsyncByteStream):
    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        *,
        observability: Observability,
        span: Any,
        status: int,
        probe: AttemptProbe | None,
        path: str,
        content_type: str,
    ) -> None:
        self._inner = inner
        self._observability = observability
        self._span = span
        self._status = status
        self._probe = probe
        self._path = path
        self._content_type = content_type
        self._chunks: list[bytes] | None = [] if probe is not None else None
        self._size = 0
        self._error: BaseException | None = None
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                if self._chunks is not None:
                    self._size += len(chunk)
                    if self._size > _MAX_CAPTURE:
                        self._chunks = None
                    else:
                        self._chunks.append(chunk)
                yield chunk
        except BaseException as exc:
            self._error = exc
            raise

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._finish()

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        recognised = None
        if (
            self._chunks is not None
            and self._probe is not None
            and self._error is None
            and self._status < 400
        ):
            recognised = recognise_response(self._path, self._content_type, b"".join(self._chunks))
            if recognised is not None:
                self._probe.report(recognised[0])
        span = self._span
        tracing = self._observability.tracing
        if span is None or tracing is None:
            return
        if recognised is not None:
            record, operation = recognised
            span.set_attributes(
                {
                    "gen_ai.operation.name": operation,
                    "gen_ai.provider.name": record.provider or "",
                    "gen_ai.system": record.provider or "",
                    "gen_ai.response.model": record.model,
                    "gen_ai.usage.input_tokens": record.input_tokens,
                    "gen_ai.usage.output_tokens": record.output_tokens,
                }
            )
        tracing.end_client(span, self._status, self._error)
