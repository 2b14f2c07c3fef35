//! The running SDK: the page view's metrics, the queue and the transport, driven by the
//! browser callbacks that `lifecycle` and `observe` register.

use js_sys::{Array, JsString};
use wasm_bindgen::{JsCast, JsValue};

use crate::batch::Queue;
use crate::config::SdkConfig;
use crate::encode::{self, get, Context};
use crate::ffi::Entry;
use crate::global::Global;
use crate::instrument;
use crate::observe::{self, Kind, Observers};
use crate::transport::Transport;
use crate::vitals::{cls::Cls, fcp::{self, Fcp}, inp::Inp, lcp::Lcp, ttfb::Ttfb, Report};

/// The SDK once started; `None` before `start` and when the config was unusable.
pub static SDK: Global<Sdk> = Global::new();

pub struct Sdk {
    time_origin: f64,
    /// When a prerendered page was activated, ms; 0 otherwise. Metrics count from it.
    activation_start: f64,
    context: Context,
    /// Prefix of metric ids: `v1-{page view id}-`; the metric's name follows.
    metric_id_prefix: JsString,
    navigation_type: JsValue,
    queue: Queue,
    transport: Transport,
    observers: Option<Observers>,
    fcp: Fcp,
    lcp: Lcp,
    cls: Cls,
    inp: Inp,
    ttfb: Ttfb,
}

impl Sdk {
    pub fn new(config: SdkConfig) -> Sdk {
        let navigation = observe::navigation_entry();
        let activation_start = navigation.as_ref().map_or(0.0, |n| n.activation_start()).max(0.0);
        // Strings stay in JS: concatenated there rather than copied into wasm and back.
        let view_id = get(&config.context.view, "id");
        let metric_id_prefix = JsString::from("v1-").concat(&view_id).concat(&JsValue::from_str("-"));
        let mut sdk = Sdk {
            time_origin: config.time_origin,
            activation_start,
            navigation_type: get(&config.context.view, "type"),
            context: config.context,
            metric_id_prefix,
            queue: Queue::new(config.max_items),
            transport: Transport::new(config.url, config.fetch),
            observers: None,
            fcp: Fcp::default(),
            lcp: Lcp::default(),
            cls: Cls::default(),
            inp: Inp::default(),
            ttfb: Ttfb::default(),
        };
        if let Some(nav) = navigation {
            let report = sdk.ttfb.on_navigation(nav.response_start(), activation_start);
            sdk.enqueue(report);
        }
        sdk
    }

    pub fn set_observers(&mut self, observers: Observers) {
        self.observers = Some(observers);
    }

    pub fn on_entries(&mut self, kind: Kind, entries: Array) {
        for entry in entries.iter() {
            let entry: Entry = entry.unchecked_into();
            let report = match kind {
                Kind::Paint if entry.name() == JsValue::from_str(fcp::ENTRY_NAME) => {
                    self.fcp.on_paint(entry.start_time(), self.activation_start)
                }
                Kind::Paint => None,
                Kind::LargestContentfulPaint => {
                    self.lcp.on_entry(entry.start_time(), self.activation_start);
                    None
                }
                Kind::LayoutShift => {
                    self.cls.on_shift(entry.start_time(), entry.value(), entry.had_recent_input());
                    None
                }
                Kind::Event | Kind::FirstInput => {
                    self.inp.on_event(entry.interaction_id(), entry.duration());
                    None
                }
            };
            self.enqueue(report);
        }
        self.flush_if_full();
    }

    /// The first keydown, click or pointerdown ends LCP.
    pub fn on_input(&mut self) {
        self.drain_observers();
        let report = self.lcp.stop();
        self.enqueue(report);
    }

    /// Hidden or unloading: hand over every final value and send, synchronously, since
    /// nothing later is guaranteed to run.
    pub fn on_hidden(&mut self) {
        self.drain_observers();
        let lcp = self.lcp.stop();
        self.enqueue(lcp);
        let cls = self.cls.report();
        self.enqueue(cls);
        let inp = self.inp.report();
        self.enqueue(inp);
        self.flush();
    }

    pub fn on_fetch(&mut self, record: &JsValue) {
        if let Some(span) = instrument::fetch::span(record, self.time_origin) {
            self.queue.push_span(span);
        }
        self.flush_if_full();
    }

    pub fn flush(&mut self) {
        let Some((spans, vitals)) = self.queue.take() else { return };
        let beacon = encode::beacon(&self.context, spans, vitals);
        if let Ok(body) = js_sys::JSON::stringify(&beacon) {
            self.transport.send(&body);
        }
    }

    fn flush_if_full(&mut self) {
        if self.queue.is_full() {
            self.flush();
        }
    }

    /// Processes entries the observers hold but have not delivered yet.
    fn drain_observers(&mut self) {
        // Taken out for the loop, as on_entries needs the whole SDK.
        if let Some(observers) = self.observers.take() {
            observers.take_pending(|kind, entries| self.on_entries(kind, entries));
            self.observers = Some(observers);
        }
    }

    fn enqueue(&mut self, report: Option<Report>) {
        let Some(report) = report else { return };
        let id = self.metric_id_prefix.concat(&JsValue::from_str(report.name.as_str()));
        self.queue.push_vital(encode::vital(&report, &id, &self.navigation_type));
    }
}
