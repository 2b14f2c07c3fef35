"""Cross-component tests: the real `rum-gateway` binary (target/debug, built by the test
command) driven by real clients of other languages, on loopback only.

Fixtures:
* `otlp_receiver`: an OTLP/HTTP receiver in this process that decodes what the gateway
  exports with the `opentelemetry-proto` Python package, independently of the gateway.
* `start_gateway(extra_toml)`: starts the gateway on OS-chosen ports with a fresh data
  directory and stops it after the test.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "target" / "debug" / "rum-gateway"
# Shared test data: $RUM_TESTDATA, else ../shared/testdata beside the repository, else
# target/testdata (filled from registry packages by scripts/ensure-tools.sh --testdata).
SHARED = Path(
    os.environ.get("RUM_TESTDATA")
    or (
        ROOT.parent / "shared" / "testdata"
        if (ROOT.parent / "shared" / "testdata").is_dir()
        else ROOT / "target" / "testdata"
    )
)
KEY = "py-key"


class Receiver:
    """Spans exported to `/v1/traces`, as decoded protobuf `ResourceSpans` messages."""

    def __init__(self):
        self.resource_spans = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path == "/v1/traces":
                    request = ExportTraceServiceRequest()
                    request.ParseFromString(body)
                    with receiver.lock:
                        receiver.resource_spans.extend(request.resource_spans)
                    reply = ExportTraceServiceResponse().SerializeToString()
                else:
                    reply = b""  # logs and metrics: accepted, not looked at here
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self):
        """Every exported span with its resource's attributes: [(resource_attrs, span)]."""
        with self.lock:
            return [
                (rs.resource.attributes, span)
                for rs in self.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]

    def wait_for(self, count, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.spans()
            if len(spans) >= count:
                return spans
            time.sleep(0.05)
        raise AssertionError(f"receiver got {len(self.spans())} spans, wanted {count}")


@pytest.fixture
def otlp_receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


class Gateway:
    def __init__(self, process, ingest, admin, data_dir):
        self.process, self.ingest, self.admin, self.data_dir = process, ingest, admin, data_dir

    def api(self, path):
        with urllib.request.urlopen(self.admin + path, timeout=10) as response:
            return json.load(response)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start_gateway():
    started = []

    def start(extra_toml=""):
        assert GATEWAY.exists(), f"{GATEWAY} is missing: build it with `cargo build -p gateway`"
        data_dir = tempfile.mkdtemp(prefix="rum-gw-py-")
        config = Path(data_dir) / "gateway.toml"
        config.write_text(
            f'data_dir = "{data_dir}"\n'
            '[server]\ningest_listen = "127.0.0.1:0"\nadmin_listen = "127.0.0.1:0"\n'
            f'[[apps]]\nname = "py"\nkey = "{KEY}"\nallowed_origins = ["*"]\n'
            + extra_toml
        )
        process = subprocess.Popen(
            [str(GATEWAY), "--config", str(config)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        urls = {}
        deadline = time.monotonic() + 30
        while len(urls) < 2:
            line = process.stdout.readline()
            if not line:
                raise AssertionError("rum-gateway exited before printing its addresses")
            match = re.match(r"(ingest|viewer) listening on (http://\S+)", line)
            if match:
                urls[match.group(1)] = match.group(2).rstrip("/")
            assert time.monotonic() < deadline, "rum-gateway did not start in 30 s"
        gateway = Gateway(process, urls["ingest"], urls["viewer"], data_dir)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()
        # Its store (the ingest log, rum.sqlite, the span partitions): each test starts afresh.
        shutil.rmtree(gateway.data_dir, ignore_errors=True)


def pytest_report_header(config):
    return f"rum-gateway: {GATEWAY} (exists: {GATEWAY.exists()}); shared test data: {SHARED}"

