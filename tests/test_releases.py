"""Release comparison against scipy: two releases of random samples sent to the real
`rum-gateway` as beacons and OTLP/JSON, and every p-value of `/api/releases/compare` checked
against scipy's on the same samples, within 1e-6 relative:

* distributions (web vitals, fetch and server span durations):
  `scipy.stats.mannwhitneyu(baseline, candidate, alternative='two-sided',
  method='asymptotic', use_continuity=True)`;
* rates (page views with an error, sessions with an error, failed spans per route): the pooled
  two-proportion z-test, p = 2 * scipy.stats.norm.sf(|z|).

Values are rounded (whole milliseconds, CLS to 3 decimals) so the samples have ties, as real
reports do, and the tie correction is exercised.
"""

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
from scipy import stats

from conftest import KEY

SERVICE = "py-shop"
VIEWS = 160
VIEWS_PER_SESSION = 3
UNLIMITED = (
    "[limits]\nkey_rate = { per_second = 0, burst = 0 }\nip_rate = { per_second = 0, burst = 0 }\n"
)


def post(url, body, headers):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def generate(rng, lcp_scale, error_share, fetch_fail, server_scale):
    """One release's samples: per view its vitals, fetch duration and outcome, error, and the
    server span's duration and outcome."""
    n = VIEWS
    return {
        "LCP": np.round(rng.lognormal(math.log(1800 * lcp_scale), 0.5, n)),
        "INP": np.round(rng.lognormal(math.log(120), 0.6, n)),
        "CLS": np.round(rng.lognormal(math.log(0.05), 0.8, n), 3),
        "FCP": np.round(rng.lognormal(math.log(900), 0.4, n)),
        "TTFB": np.round(rng.lognormal(math.log(300), 0.5, n)),
        "fetch": np.maximum(1, np.round(rng.lognormal(math.log(150), 0.5, n))),
        "fetch_failed": rng.random(n) < fetch_fail,
        "error": rng.random(n) < error_share,
        "server": np.maximum(1, np.round(rng.lognormal(math.log(40 * server_scale), 0.5, n))),
        "server_failed": rng.random(n) < 0.05,
    }


def send(gateway, rng, version, s):
    t0 = math.floor(time.time()) * 1000 - 600_000
    resource = {"service.name": SERVICE, "service.version": version, "deployment.environment.name": "prod"}
    spans = []
    session = None
    for i in range(VIEWS):
        if i % VIEWS_PER_SESSION == 0:
            session = rng.bytes(16).hex()
        view, trace, fetch_id = rng.bytes(8).hex(), rng.bytes(16).hex(), rng.bytes(8).hex()
        start = t0 + i * 100
        beacon = {
            "v": 1, "sentAt": time.time() * 1000, "resource": resource,
            "session": {"id": session},
            "view": {"id": view, "url": "http://localhost:8080/shop", "type": "navigate", "start": start},
            "vitals": [
                {"name": name, "value": float(s[name][i]), "delta": float(s[name][i]),
                 "id": f"v1-{view}-{name}", "rating": "good", "nav": "navigate"}
                for name in ("LCP", "INP", "CLS", "FCP", "TTFB")
            ],
            "spans": [{"traceId": trace, "spanId": fetch_id, "name": "POST", "kind": "client",
                       "start": start + 50, "end": start + 50 + float(s["fetch"][i]),
                       "attrs": {"http.request.method": "POST", "url.full": "http://localhost:8080/api/pay"}}],
        }
        if s["fetch_failed"][i]:
            beacon["spans"][0]["status"] = "error"
        if s["error"][i]:
            beacon["errors"] = [{"type": "Error", "message": "pay failed", "stack": "Error: pay failed",
                                 "kind": "uncaught", "time": start + 10, "id": rng.bytes(8).hex(), "count": 2}]
        post(f"{gateway.ingest}/v1/rum?key={KEY}", beacon, {"content-type": "text/plain"})
        begin = (start + 60) * 1_000_000
        spans.append({
            "traceId": trace, "spanId": rng.bytes(8).hex(), "parentSpanId": fetch_id,
            "name": "POST /api/pay", "kind": 2,
            "startTimeUnixNano": str(begin), "endTimeUnixNano": str(begin + int(s["server"][i]) * 1_000_000),
            "status": {"code": 2 if s["server_failed"][i] else 0},
            "attributes": [{"key": "http.request.method", "value": {"stringValue": "POST"}},
                           {"key": "http.route", "value": {"stringValue": "/api/pay"}}],
        })
    otlp = {"resourceSpans": [{
        "resource": {"attributes": [{"key": k, "value": {"stringValue": v}} for k, v in resource.items()]},
        "scopeSpans": [{"spans": spans}],
    }]}
    post(f"{gateway.ingest}/v1/traces", otlp, {"content-type": "application/json", "authorization": f"Bearer {KEY}"})


def mwu_p(a, b):
    return stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True).pvalue


def proportion_p(x1, n1, x2, n2):
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x2 / n2 - x1 / n1) / se
    return min(1.0, 2 * stats.norm.sf(abs(z)))


def sessions_with_errors(errors):
    return sum(errors[i:i + VIEWS_PER_SESSION].any() for i in range(0, VIEWS, VIEWS_PER_SESSION))


def test_every_p_value_agrees_with_scipy(start_gateway):
    gateway = start_gateway("[enrich]\nuser_agent_parsing = false\n" + UNLIMITED)
    rng = np.random.default_rng(16)
    base = generate(rng, 1.0, 0.08, 0.05, 1.0)
    cand = generate(rng, 1.12, 0.14, 0.09, 1.05)
    send(gateway, rng, "2.0.0", base)
    send(gateway, rng, "2.1.0", cand)

    query = urllib.parse.urlencode({"service": SERVICE, "baseline": "2.0.0", "candidate": "2.1.0"})
    result = gateway.api(f"/api/releases/compare?{query}")
    figures = {(f["figure"], f["name"]): f for f in result["figures"]}

    sessions = VIEWS // VIEWS_PER_SESSION + (VIEWS % VIEWS_PER_SESSION > 0)
    want = {
        ("error_rate", None): proportion_p(base["error"].sum(), VIEWS, cand["error"].sum(), VIEWS),
        ("sessions_with_errors", None): proportion_p(
            sessions_with_errors(base["error"]), sessions, sessions_with_errors(cand["error"]), sessions
        ),
        ("fetch_latency", "POST /api/pay"): mwu_p(base["fetch"], cand["fetch"]),
        ("fetch_error_rate", "POST /api/pay"): proportion_p(
            base["fetch_failed"].sum(), VIEWS, cand["fetch_failed"].sum(), VIEWS
        ),
        ("server_latency", "POST /api/pay"): mwu_p(base["server"], cand["server"]),
        ("server_error_rate", "POST /api/pay"): proportion_p(
            base["server_failed"].sum(), VIEWS, cand["server_failed"].sum(), VIEWS
        ),
    }
    for name in ("LCP", "INP", "CLS", "FCP", "TTFB"):
        want[("vital", name)] = mwu_p(base[name], cand[name])

    assert set(figures) == set(want), sorted(figures)
    for key, p in want.items():
        got = figures[key]["p_value"]
        assert math.isclose(got, p, rel_tol=1e-6), f"{key}: gateway {got!r}, scipy {p!r}"
        test = "mann_whitney_u" if key[0] in ("vital", "fetch_latency", "server_latency") else "two_proportion_z"
        assert figures[key]["test"] == test
        verdict = figures[key]["verdict"]
        if p >= 0.05:
            assert verdict == "no_evidence", (key, p, verdict)
        else:
            assert verdict in ("better", "worse"), (key, p, verdict)
    # The errors as occurrences per 1,000 page views (each error counted twice).
    assert figures[("error_rate", None)]["candidate"]["per_1000"] == cand["error"].sum() * 2 * 1000 / VIEWS
    # Spread across the range, so agreement is not only at p = 0 or 1.
    ps = sorted(want.values())
    assert ps[0] < 0.01 and ps[-1] > 0.2, ps


def test_bad_queries_are_refused_with_a_reason(start_gateway):
    gateway = start_gateway()
    for path, status in (
        ("/api/releases", 400),
        ("/api/releases?service=x&to=soon", 400),
        ("/api/releases/compare?service=x&baseline=1", 400),
        ("/api/releases/compare?service=x&baseline=1&candidate=2", 404),
    ):
        try:
            gateway.api(path)
            raise AssertionError(f"{path} answered 200")
        except urllib.error.HTTPError as e:
            assert e.code == status, path
            body = json.load(e)
            assert body["message"], path
