"""Captures real OTLP/HTTP trace requests as fuzz seeds: the OpenTelemetry Python SDK
(protobuf) and JS SDK (JSON and protobuf, tests/otel-js/emit-spans.mjs) export to a local
HTTP server that writes each request body to fuzz/seeds/otlp_{protobuf,json}/.

  tests/.venv/bin/python fuzz/seeds/capture_otlp.py
"""

import gzip
import hashlib
import http.server
import os
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "fuzz", "seeds")


class Capture(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)[:size]
                if size == 0:
                    break
                body += chunk
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding", "") == "gzip":
            body = gzip.decompress(body)
        if not body:
            print("empty body", dict(self.headers), file=sys.stderr)
        kind = "otlp_json" if "json" in self.headers.get("Content-Type", "") else "otlp_protobuf"
        os.makedirs(os.path.join(CORPUS, kind), exist_ok=True)
        name = "seed-" + hashlib.sha1(body).hexdigest()
        with open(os.path.join(CORPUS, kind, name), "wb") as f:
            f.write(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def python_sdk(url):
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    provider = TracerProvider(resource=Resource.create({"service.name": "py-backend", "service.version": "2.0.1"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=url, headers={"Authorization": "Bearer k"})))
    tracer = provider.get_tracer("fuzz.seeds", "1.0")
    remote = trace.set_span_in_context(trace.NonRecordingSpan(trace.SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C, span_id=0xB7AD6B7169203331, is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))))
    with tracer.start_as_current_span("POST /api/cart", context=remote, kind=SpanKind.SERVER) as server:
        server.set_attributes({"app.s": "héllo", "app.i": 42, "app.f": 2.5, "app.b": True,
                               "app.ss": ["a", "b"], "app.is": [1, 2], "app.fs": [0.5], "app.bs": [True]})
        with tracer.start_as_current_span("reserve stock", links=[trace.Link(server.get_span_context(), {"link.n": 2})]) as inner:
            inner.add_event("cache miss", {"cache.key": "sku-42"})
            with tracer.start_as_current_span("SELECT stock", kind=SpanKind.CLIENT) as db:
                db.record_exception(RuntimeError("table locked"))
                db.set_status(Status(StatusCode.ERROR, "table locked"))
    with tracer.start_as_current_span("nightly job", kind=SpanKind.CONSUMER):
        pass
    provider.force_flush()
    provider.shutdown()


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    python_sdk(url)
    for protocol in ("json", "protobuf"):
        subprocess.run(["node", "emit-spans.mjs", url, "k", protocol], check=True,
                       cwd=os.path.join(ROOT, "tests", "otel-js"), stdout=subprocess.DEVNULL)
    server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
