"""Backend spans from real OpenTelemetry SDKs of other languages, through the gateway.

Each SDK records nested spans with typed attributes, span events and links, and sends them with its own OTLP/HTTP
exporter (Python: protobuf; JavaScript in Node.js: JSON and protobuf), while an in-memory
exporter on the same provider keeps what the SDK produced. Every span must then be stored
(read back from the admin API) and exported (decoded by `conftest.Receiver`) exactly: ids,
parent links, names, kinds, times to the nanosecond, status, typed attributes, events, links
and resource.

The Python and JS exporters set `Span.flags` to 0x100/0x300 (is-remote bits only, sampled
bit 0) on spans they sampled: the gateway once read that as "not sampled" and dropped them.
"""

import json
import subprocess

import pytest

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from conftest import KEY, ROOT

KINDS = {0: "internal", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS = {0: "unset", 1: "ok", 2: "error"}

# Every attribute type OpenTelemetry has (but bytes, which SDKs do not take on spans).
TYPED = {
    "app.string": "héllo wörld",
    "app.int": 42,
    "app.negative": -7,
    "app.big_int": 9_007_199_254_740_993,  # above 2^53: must not pass through a double
    "app.float": 2.5,
    "app.whole_float": 3.0,  # a double that happens to be whole stays a double
    "app.true": True,
    "app.false": False,
    "app.strings": ["a", "b"],
    "app.ints": [1, 2, 3],
    "app.floats": [0.5, 1.5],
    "app.bools": [True, False],
}

EXPORT_TOML = """
[export]
otlp_endpoint = "{url}"
batch_timeout_ms = 20
retry_initial_backoff_ms = 50
logs = false
metrics = false
"""


def plain(attributes):
    """SDK attributes as JSON values (tuples → lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (attributes or {}).items()}


def exported_value(any_value):
    """An exported OTLP AnyValue as (type, Python value)."""
    which = any_value.WhichOneof("value")
    if which == "array_value":
        return ("array", [exported_value(v) for v in any_value.array_value.values])
    return (which, getattr(any_value, which))


def python_typed(value):
    """What an attribute value must be exported as, by the OTLP encoding of its type."""
    if isinstance(value, bool):
        return ("bool_value", value)
    if isinstance(value, int):
        return ("int_value", value)
    if isinstance(value, float):
        return ("double_value", value)
    if isinstance(value, str):
        return ("string_value", value)
    return ("array", [python_typed(v) for v in value])


def assert_stored_exactly(gateway, expected):
    """`expected`: dicts of trace_id, span_id, parent_span_id (hex), name, kind, start, end
    (ns), status, attributes and resource (JSON values), as the SDK recorded them."""
    for want in expected:
        trace_json = gateway.api(f"/api/traces/{want['trace_id']}")
        stored = {s["span_id"]: s for s in trace_json["spans"]}
        assert want["span_id"] in stored, f"span {want['name']} not stored: {trace_json}"
        got = stored[want["span_id"]]
        assert got["parent_span_id"] == want["parent_span_id"], want["name"]
        assert got["name"] == want["name"]
        assert got["kind"] == want["kind"], want["name"]
        assert int(got["start_time_unix_nano"]) == want["start"], want["name"]
        assert int(got["end_time_unix_nano"]) == want["end"], want["name"]
        assert got["status"]["code"] == want["status"], got
        assert got["source"] == "otlp"
        assert_same_json(got["attributes"], want["attributes"], want["name"])
        assert_same_json(got["resource"], want["resource"], want["name"] + " resource")
        want_events = [
            {"name": e["name"], "time_unix_nano": str(e["time"]), "attributes": e["attributes"]}
            for e in want["events"]
        ]
        assert got["events"] == want_events, f"{want['name']} events: {got['events']}"
        want_links = [
            {"trace_id": l["trace_id"], "span_id": l["span_id"], "attributes": l["attributes"]}
            for l in want["links"]
        ]
        assert got["links"] == want_links, f"{want['name']} links: {got['links']}"


def assert_same_json(got, want, where):
    """Equal, and each number of the same JSON type (an integer stays an integer)."""
    assert got == want, f"{where}: stored {got}, sent {want}"
    for key, value in want.items():
        assert json_types(got[key]) == json_types(value), f"{where}: {key} changed type"


def json_types(value):
    if isinstance(value, list):
        return [json_types(v) for v in value]
    return type(value).__name__


def assert_exported_exactly(receiver, expected, typed_values):
    """Every expected span in the receiver, with ids as bytes, and each attribute encoded as
    `typed_values(key, value)` says."""
    exported = receiver.wait_for(len(expected))
    by_id = {span.span_id.hex(): (resource, span) for resource, span in exported}
    assert len(by_id) == len(expected), f"{len(by_id)} distinct spans exported, not {len(expected)}"
    for want in expected:
        resource, span = by_id[want["span_id"]]
        assert span.trace_id.hex() == want["trace_id"]
        assert span.parent_span_id.hex() == (want["parent_span_id"] or "")
        assert span.name == want["name"]
        assert KINDS[span.kind] == want["kind"]
        assert span.start_time_unix_nano == want["start"]
        assert span.end_time_unix_nano == want["end"]
        assert STATUS[span.status.code] == want["status"]
        got = {kv.key: exported_value(kv.value) for kv in span.attributes}
        assert got == {k: typed_values(k, v) for k, v in want["attributes"].items()}, want["name"]
        got_resource = {kv.key: exported_value(kv.value) for kv in resource}
        assert got_resource == {k: typed_values(k, v) for k, v in want["resource"].items()}
        got_events = [
            (e.name, e.time_unix_nano, {kv.key: exported_value(kv.value) for kv in e.attributes})
            for e in span.events
        ]
        assert got_events == [
            (e["name"], e["time"], {k: typed_values(k, v) for k, v in e["attributes"].items()})
            for e in want["events"]
        ], want["name"]
        got_links = [
            (l.trace_id.hex(), l.span_id.hex(), {kv.key: exported_value(kv.value) for kv in l.attributes})
            for l in span.links
        ]
        assert got_links == [
            (l["trace_id"], l["span_id"], {k: typed_values(k, v) for k, v in l["attributes"].items()})
            for l in want["links"]
        ], want["name"]


def test_python_sdk_protobuf_spans_are_stored_and_exported_exactly(start_gateway, otlp_receiver):
    gateway = start_gateway(EXPORT_TOML.format(url=otlp_receiver.url))
    memory = InMemorySpanExporter()
    resource = Resource.create(
        {"service.name": "py-backend", "service.version": "2.0.1", "deployment.environment.name": "test"}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(
                endpoint=f"{gateway.ingest}/v1/traces", headers={"Authorization": f"Bearer {KEY}"}
            )
        )
    )
    tracer = provider.get_tracer("tests.otlp_sdks", "1.0")
    # A request that came from a browser: the server span's parent is remote (flags 0x300).
    remote_parent = trace.set_span_in_context(
        trace.NonRecordingSpan(
            trace.SpanContext(
                trace_id=0x0AF7651916CD43DD8448EB211C80319C,
                span_id=0xB7AD6B7169203331,
                is_remote=True,
                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
            )
        )
    )
    with tracer.start_as_current_span("POST /api/cart", context=remote_parent, kind=SpanKind.SERVER) as server:
        server.set_attributes(TYPED)
        with tracer.start_as_current_span(
            "reserve stock",
            links=[trace.Link(server.get_span_context(), {"link.reason": "batch", "link.n": 2})],
        ) as internal:
            internal.set_attribute("stock.items", 3)
            internal.add_event("cache miss", {"cache.key": "sku-42", "cache.size": 7, "cache.ratio": 0.25})
            with tracer.start_as_current_span("SELECT stock", kind=SpanKind.CLIENT) as db:
                db.set_attribute("db.system.name", "sqlite")
                db.record_exception(RuntimeError("table locked"))
                db.set_status(Status(StatusCode.ERROR, "table locked"))
        with tracer.start_as_current_span("publish order", kind=SpanKind.PRODUCER) as producer:
            producer.set_status(Status(StatusCode.OK))
    # A second trace of its own (no parent: flags 0x100).
    with tracer.start_as_current_span("nightly job", kind=SpanKind.CONSUMER):
        pass
    provider.force_flush()

    finished = memory.get_finished_spans()
    assert len(finished) == 5
    resource_attrs = dict(finished[0].resource.attributes)
    expected = [
        {
            "trace_id": f"{s.context.trace_id:032x}",
            "span_id": f"{s.context.span_id:016x}",
            "parent_span_id": f"{s.parent.span_id:016x}" if s.parent else None,
            "name": s.name,
            "kind": s.kind.name.lower(),
            "start": s.start_time,
            "end": s.end_time,
            "status": s.status.status_code.name.lower(),
            "attributes": plain(s.attributes),
            "resource": resource_attrs,
            "events": [
                {"name": e.name, "time": e.timestamp, "attributes": plain(e.attributes)}
                for e in s.events
            ],
            "links": [
                {
                    "trace_id": f"{l.context.trace_id:032x}",
                    "span_id": f"{l.context.span_id:016x}",
                    "attributes": plain(l.attributes),
                }
                for l in s.links
            ],
        }
        for s in finished
    ]
    assert_stored_exactly(gateway, expected)
    assert_exported_exactly(otlp_receiver, expected, lambda _k, v: python_typed(v))
    provider.shutdown()


def run_js_sdk(gateway, protocol):
    """Runs the OpenTelemetry JS SDK in Node.js (tests/otel-js/emit-spans.mjs) against the
    gateway; returns the spans it recorded, as it printed them."""
    script = ROOT / "tests" / "otel-js" / "emit-spans.mjs"
    done = subprocess.run(
        ["node", str(script), f"{gateway.ingest}/v1/traces", KEY, protocol],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def js_typed(value):
    """The JS exporters' encoding: a JS number is an int when it is a safe integer."""
    if isinstance(value, bool):
        return ("bool_value", value)
    if isinstance(value, (int, float)):
        return ("int_value", int(value)) if float(value).is_integer() else ("double_value", value)
    if isinstance(value, str):
        return ("string_value", value)
    return ("array", [js_typed(v) for v in value])


def js_expected(spans):
    """The JS spans as `assert_stored_exactly` takes them; numbers as the gateway reads them
    from the exporter's encoding (whole numbers arrive as OTLP ints)."""

    def normalize(value):
        if isinstance(value, list):
            return [normalize(v) for v in value]
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    for span in spans:
        span["start"], span["end"] = int(span["start"]), int(span["end"])
        span["attributes"] = {k: normalize(v) for k, v in span["attributes"].items()}
        span["resource"] = {k: normalize(v) for k, v in span["resource"].items()}
        for event in span["events"]:
            event["time"] = int(event["time"])
            event["attributes"] = {k: normalize(v) for k, v in event["attributes"].items()}
        for link in span["links"]:
            link["attributes"] = {k: normalize(v) for k, v in link["attributes"].items()}
    return spans


@pytest.mark.parametrize("protocol", ["json", "protobuf"])
def test_js_sdk_spans_are_stored_and_exported_exactly(start_gateway, otlp_receiver, protocol):
    gateway = start_gateway(EXPORT_TOML.format(url=otlp_receiver.url))
    expected = js_expected(run_js_sdk(gateway, protocol))
    assert len(expected) == 4
    assert_stored_exactly(gateway, expected)
    assert_exported_exactly(otlp_receiver, expected, lambda _k, v: js_typed(v))
