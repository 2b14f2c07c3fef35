//! Cross-component tests live in this directory: `sdk_beacon_to_gateway.rs` (cargo: the
//! SDK's beacon encoder against the gateway's decoder and store) and the Python tests
//! (`test_*.py`: real OpenTelemetry SDKs of other languages as the gateway's clients).
