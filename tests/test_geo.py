"""The gateway's geo attributes against an independent MaxMind DB reader (the `maxminddb`
Python package, not the Rust crate the gateway uses), over every network of MaxMind's test
databases: the first and the last address of each, IPv4 and IPv6, each sent as the client
address of a beacon through a trusted proxy.

OpenTelemetry's geo attributes, from a City or Country record:
  geo.continent.code    continent.code
  geo.country.iso_code  country.iso_code
  geo.region.iso_code   ISO 3166-2: country.iso_code + "-" + subdivisions[0].iso_code
  geo.locality.name     city.names.en
  geo.postal_code       postal.code
  geo.location.lat/lon  location.latitude/longitude (with enrich.geo_coordinates)
"""

import json
import time
import urllib.request

import maxminddb
import pytest

from conftest import KEY, SHARED

DATABASES = ["GeoIP2-City-Test.mmdb", "GeoLite2-City-Test.mmdb", "GeoLite2-Country-Test.mmdb"]


def expected_geo(record):
    """What the attributes must be for a record, per the semantic conventions."""
    out = {}
    if not isinstance(record, dict):
        return out
    continent = (record.get("continent") or {}).get("code")
    country = (record.get("country") or {}).get("iso_code")
    subdivisions = record.get("subdivisions") or []
    city = ((record.get("city") or {}).get("names") or {}).get("en")
    postal = (record.get("postal") or {}).get("code")
    location = record.get("location") or {}
    if continent:
        out["geo.continent.code"] = continent
    if country:
        out["geo.country.iso_code"] = country
    if country and subdivisions and subdivisions[0].get("iso_code"):
        out["geo.region.iso_code"] = f"{country}-{subdivisions[0]['iso_code']}"
    if city:
        out["geo.locality.name"] = city
    if postal:
        out["geo.postal_code"] = postal
    if location.get("latitude") is not None and location.get("longitude") is not None:
        out["geo.location.lat"] = location["latitude"]
        out["geo.location.lon"] = location["longitude"]
    return out


def addresses(path):
    """(address, record) for the first and last address of every network in the file."""
    with maxminddb.open_database(str(path), maxminddb.MODE_FILE) as reader:
        out = []
        for network, record in reader:
            for address in {network[0], network[-1]}:
                out.append((str(address), record))
        return out


def send_beacon(gateway, client_ip, index):
    trace_id = f"{index + 1:032x}"
    now = time.time() * 1000
    beacon = {
        "v": 1, "sentAt": now,
        "resource": {"service.name": "geo-test"},
        "session": {"id": "0123456789abcdef0123456789abcdef"},
        "view": {"id": f"{index + 1:016x}", "url": "http://localhost/", "type": "navigate", "start": now - 500},
        "spans": [{"traceId": trace_id, "spanId": "b7ad6b7169203331", "name": "GET", "kind": "client",
                   "start": now - 100, "end": now - 50}],
    }
    request = urllib.request.Request(
        f"{gateway.ingest}/v1/rum?key={KEY}",
        data=json.dumps(beacon).encode(),
        headers={"content-type": "text/plain", "x-forwarded-for": client_ip},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    return trace_id


@pytest.mark.parametrize("database", DATABASES)
def test_every_network_of_the_test_database_maps_as_the_reference_reader_says(start_gateway, database):
    path = SHARED / "mmdb" / database
    gateway = start_gateway(
        "[enrich]\n"
        f'geoip_database = "{path}"\n'
        "geo_coordinates = true\n"
        "user_agent_parsing = false\n"
        'trusted_proxies = ["127.0.0.1"]\n'
        "[limits]\nkey_rate = { per_second = 0, burst = 0 }\nip_rate = { per_second = 0, burst = 0 }\n"
    )
    cases = addresses(path)
    assert len(cases) > 400, f"{database}: only {len(cases)} addresses"
    regions = 0
    for index, (ip, record) in enumerate(cases):
        trace_id = send_beacon(gateway, ip, index)
        attributes = gateway.api(f"/api/traces/{trace_id}")["spans"][0]["attributes"]
        got = {k: v for k, v in attributes.items() if k.startswith("geo.")}
        want = expected_geo(record)
        assert got == want, f"{database} {ip}: gateway {got}, reference reader {want}"
        regions += "geo.region.iso_code" in want
    if "City" in database:
        assert regions >= 20, f"{database}: only {regions} addresses with a region"
