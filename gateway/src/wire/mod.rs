//! What arrives from outside, as it arrives: the beacon wire format. (OTLP's types come from
//! `opentelemetry-proto`.)

pub mod beacon_v1;
