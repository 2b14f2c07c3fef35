//! Web vitals as OTLP metrics: one histogram per vital (`browser.web_vital.lcp`, …) with
//! delta temporality, a data point per page path, rating and navigation type, built from the
//! reports of one batch. The gateway keeps no state across batches: a collector or backend
//! adds the deltas up (e.g. to compute p75 per page).

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    metric, AggregationTemporality, Histogram, HistogramDataPoint, Metric, ResourceMetrics,
    ScopeMetrics,
};

use super::{resource, scope, string};
use crate::model::time::url_path;
use crate::model::{Attributes, Batch, Vital};

/// Bucket bounds of the millisecond vitals: web-vitals' thresholds among them, so the share of
/// good and poor reports reads straight off the buckets.
const MS_BOUNDS: [f64; 14] = [
    50.0, 100.0, 200.0, 300.0, 500.0, 800.0, 1000.0, 1800.0, 2500.0, 3000.0, 4000.0, 6000.0,
    10000.0, 20000.0,
];
/// Bucket bounds of CLS (unitless), its thresholds 0.1 and 0.25 among them.
const CLS_BOUNDS: [f64; 8] = [0.01, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0];

/// The bucket bounds for a metric's unit.
fn bounds(unit: &str) -> &'static [f64] {
    if unit == "1" {
        &CLS_BOUNDS
    } else {
        &MS_BOUNDS
    }
}

/// The metric's name and unit for a vital's name (`LCP` → `browser.web_vital.lcp`, `ms`).
pub fn metric_name(vital: &str) -> Option<(&'static str, &'static str)> {
    Some(match vital {
        "LCP" => ("browser.web_vital.lcp", "ms"),
        "FCP" => ("browser.web_vital.fcp", "ms"),
        "TTFB" => ("browser.web_vital.ttfb", "ms"),
        "INP" => ("browser.web_vital.inp", "ms"),
        "CLS" => ("browser.web_vital.cls", "1"),
        _ => return None,
    })
}

/// One OTLP metrics request for the batch's vitals (each report counts once), grouped by the
/// resource of the page view they belong to; `None` when the batch has no vitals.
pub fn metrics_request(
    batch: &Batch,
    received_unix_nano: i64,
) -> Option<ExportMetricsServiceRequest> {
    if batch.vitals.is_empty() {
        return None;
    }
    let now = u64::try_from(received_unix_nano).unwrap_or(0);
    let empty = Attributes::new();
    // resource → metric (name, unit) → points keyed by (path, rating, navigation type)
    let mut groups: Vec<(&Attributes, Vec<MetricPoints>)> = Vec::new();
    for vital in &batch.vitals {
        let Some((name, unit)) = metric_name(&vital.name) else {
            continue;
        };
        let view = batch.page_views.iter().find(|v| v.id == vital.page_view_id);
        let resource = view.map_or(&empty, |v| &v.resource);
        let path = view.map_or("/", |v| url_path(&v.url)).to_string();
        let g = groups
            .iter()
            .position(|(r, _)| *r == resource)
            .unwrap_or_else(|| {
                groups.push((resource, Vec::new()));
                groups.len() - 1
            });
        let metrics = &mut groups[g].1;
        let m = metrics
            .iter()
            .position(|(n, _, _)| *n == name)
            .unwrap_or_else(|| {
                metrics.push((name, unit, Vec::new()));
                metrics.len() - 1
            });
        let points = &mut metrics[m].2;
        let bounds = bounds(unit);
        match points.iter_mut().find(|p| p.matches(&path, vital)) {
            Some(point) => point.add(vital.value, bounds),
            None => {
                let mut point = Point::new(path, vital, bounds.len() + 1);
                point.add(vital.value, bounds);
                points.push(point);
            }
        }
    }
    Some(ExportMetricsServiceRequest {
        resource_metrics: groups
            .into_iter()
            .map(|(attributes, metrics)| ResourceMetrics {
                resource: Some(resource(attributes)),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(scope()),
                    metrics: metrics
                        .into_iter()
                        .map(|(name, unit, points)| {
                            let bounds = bounds(unit);
                            Metric {
                                name: name.into(),
                                unit: unit.into(),
                                description: String::new(),
                                metadata: Vec::new(),
                                data: Some(metric::Data::Histogram(Histogram {
                                    aggregation_temporality: AggregationTemporality::Delta as i32,
                                    data_points: points
                                        .into_iter()
                                        .map(|p| p.into_proto(bounds, now))
                                        .collect(),
                                })),
                            }
                        })
                        .collect(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect(),
    })
}

/// A metric's name, unit and data points.
type MetricPoints = (&'static str, &'static str, Vec<Point>);

/// The data points of one batch, as they accumulate.
struct Point {
    path: String,
    rating: String,
    navigation_type: String,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    buckets: Vec<u64>,
}

impl Point {
    fn new(path: String, vital: &Vital, buckets: usize) -> Point {
        Point {
            path,
            rating: vital.rating.clone(),
            navigation_type: vital.navigation_type.clone(),
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            buckets: vec![0; buckets],
        }
    }

    fn matches(&self, path: &str, vital: &Vital) -> bool {
        self.path == path
            && self.rating == vital.rating
            && self.navigation_type == vital.navigation_type
    }

    fn add(&mut self, value: f64, bounds: &[f64]) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        // OTLP buckets are (previous bound, bound]: the first bound not below the value.
        let bucket = bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(bounds.len());
        if let Some(slot) = self.buckets.get_mut(bucket) {
            *slot += 1;
        }
    }

    fn into_proto(self, bounds: &[f64], now: u64) -> HistogramDataPoint {
        HistogramDataPoint {
            attributes: vec![
                string("url.path", &self.path),
                string("web_vital.rating", &self.rating),
                string("web_vital.navigation_type", &self.navigation_type),
            ],
            start_time_unix_nano: now,
            time_unix_nano: now,
            count: self.count,
            sum: Some(self.sum),
            bucket_counts: self.buckets,
            explicit_bounds: bounds.to_vec(),
            exemplars: Vec::new(),
            flags: 0,
            min: Some(self.min),
            max: Some(self.max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PageView;

    fn vital(view: &str, name: &str, value: f64, rating: &str) -> Vital {
        Vital {
            page_view_id: view.into(),
            metric_id: format!("v1-{view}-{name}0"),
            name: name.into(),
            value,
            delta: value,
            rating: rating.into(),
            navigation_type: "navigate".into(),
            attribution: Attributes::new(),
        }
    }

    #[test]
    fn vitals_become_delta_histograms_per_path_and_rating() {
        let mut resource = Attributes::new();
        resource.insert("service.name".into(), "shop-web".into());
        let batch = Batch {
            spans: vec![],
            page_views: vec![PageView {
                id: "v1".into(),
                session_id: "s".into(),
                url: "https://shop.example/cart?x=1".into(),
                referrer: String::new(),
                navigation_type: "navigate".into(),
                start_unix_nano: 1,
                resource,
                attributes: Attributes::new(),
                ..crate::model::testing::page_view("", "")
            }],
            vitals: vec![
                vital("v1", "LCP", 900.0, "good"),
                vital("v1", "LCP", 2500.0, "good"),
                vital("v1", "LCP", 5000.0, "poor"),
                vital("v1", "CLS", 0.12, "needs-improvement"),
            ],
            events: vec![],
            errors: vec![],
        };
        let request = metrics_request(&batch, 42).expect("metrics");
        let rm = &request.resource_metrics[0];
        assert_eq!(
            rm.resource.as_ref().map(|r| r.attributes[0].key.as_str()),
            Some("service.name")
        );
        let metrics = &rm.scope_metrics[0].metrics;
        let lcp = metrics
            .iter()
            .find(|m| m.name == "browser.web_vital.lcp")
            .expect("lcp");
        assert_eq!(lcp.unit, "ms");
        let Some(metric::Data::Histogram(h)) = &lcp.data else {
            panic!("histogram")
        };
        assert_eq!(
            h.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        let good = h
            .data_points
            .iter()
            .find(|p| {
                p.attributes.iter().any(|a| {
                    a.key == "web_vital.rating"
                        && a.value == Some(super::super::any_value(&"good".into()))
                })
            })
            .expect("good");
        assert_eq!(
            (good.count, good.sum, good.min, good.max),
            (2, Some(3400.0), Some(900.0), Some(2500.0))
        );
        // 900 falls in (800, 1000], 2500 in (1800, 2500].
        assert_eq!(good.bucket_counts[6], 1);
        assert_eq!(good.bucket_counts[8], 1);
        assert_eq!(good.bucket_counts.iter().sum::<u64>(), 2);
        assert!(good
            .attributes
            .iter()
            .any(|a| a.key == "url.path"
                && a.value == Some(super::super::any_value(&"/cart".into()))));
        let cls = metrics
            .iter()
            .find(|m| m.name == "browser.web_vital.cls")
            .expect("cls");
        assert_eq!(cls.unit, "1");
        assert!(metrics_request(&Batch::default(), 1).is_none());
    }
}
