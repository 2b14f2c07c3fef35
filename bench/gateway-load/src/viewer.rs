//! How fast the viewer's pages answer on a large store: a store prefilled with a week of
//! enriched 100-event beacons (1 million events by default), the gateway started on it, and
//! each page's admin API requests (those the viewer's page issues) timed, one after another,
//! after one warm-up round. `rum-loadgen viewer --events N`. A measurement, never a
//! pass/fail: the target is 500 ms a page.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use crate::orchestrate::{absolute, config_toml, Enrich};
use crate::{bodies, http_client, prefill, process};

#[derive(clap::Args, Debug)]
pub struct ViewerArgs {
    /// Events to prefill (spread over the week before now).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// The gateway binary.
    #[arg(long, default_value = "target/release/rum-gateway")]
    gateway_bin: PathBuf,
    /// MaxMind DB for geo enrichment of the prefilled rows.
    #[arg(long, default_value = "../shared/testdata/mmdb/GeoIP2-City-Test.mmdb")]
    mmdb: PathBuf,
    /// uap-core regexes.yaml for user-agent enrichment.
    #[arg(long, default_value = "gateway/assets/uap-core/regexes.yaml")]
    uap: PathBuf,
    /// Where the store goes [default: the system temp dir].
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// An existing data directory to time instead of prefilling one.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Measured rounds per page (after one warm-up round).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

pub async fn viewer(args: ViewerArgs) -> anyhow::Result<()> {
    let parent = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("rum-viewer-")
        .tempdir_in(&parent)
        .with_context(|| format!("a work directory in {}", parent.display()))?;
    let existing = |p: &Path| p.is_file().then(|| absolute(p)).transpose();
    let enrich = Enrich::On {
        mmdb: existing(&args.mmdb)?,
        uap: existing(&args.uap)?,
    };
    let data = match &args.data_dir {
        Some(dir) => absolute(dir)?,
        None => {
            let data = work.path().join("data");
            std::fs::create_dir_all(&data)?;
            let toml = config_toml(&data, &enrich)?;
            let (dir, events) = (data.clone(), args.events);
            println!("== Viewer pages on a store of {events} events");
            let filled = tokio::task::spawn_blocking(move || -> anyhow::Result<prefill::Filled> {
                let templates = prefill::templates(&toml, &dir, Arc::new(bodies::beacon(100)), 42)?;
                prefill::fill(&dir, &templates, events)
            })
            .await
            .context("prefill thread")??;
            println!(
                "  prefill: {} events in {:.0} s",
                filled.events_added, filled.seconds
            );
            data
        }
    };
    let config = work.path().join("gateway.toml");
    std::fs::write(&config, config_toml(&data, &enrich)?)?;
    let config_arg = config.to_string_lossy().into_owned();
    let started = Instant::now();
    let server = process::spawn(
        "gateway (viewer)",
        &absolute(&args.gateway_bin)?,
        &["--config", &config_arg],
        &work.path().join("gateway.log"),
        "ingest listening on ",
        Some("viewer listening on "),
    )
    .await?;
    server.wait_healthy().await?;
    println!(
        "  gateway ready in {:.1} s (opening the store, upgrades included)",
        started.elapsed().as_secs_f64()
    );
    let admin = server.admin.context("the gateway's admin listener")?;
    let pages = pages(admin).await?;
    println!("\n  {:<34} {:>9} {:>9}  requests", "page", "median", "max");
    for (name, paths) in &pages {
        let mut rounds = Vec::new();
        for round in 0..=args.rounds {
            let mut total = Duration::ZERO;
            for path in paths {
                let at = Instant::now();
                let (status, body) = http_client::get(admin, path)
                    .await
                    .with_context(|| format!("GET {path}"))?;
                anyhow::ensure!(status == 200, "GET {path}: {status} {body}");
                total += at.elapsed();
            }
            if round > 0 {
                rounds.push(total);
            }
        }
        rounds.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "  {:<34} {:>6.1} ms {:>6.1} ms  {}",
            name,
            ms(rounds[rounds.len() / 2]),
            ms(rounds[rounds.len() - 1]),
            paths.join(" ")
        );
    }
    server.stop().await?;
    Ok(())
}

async fn json(admin: SocketAddr, path: &str) -> anyhow::Result<Value> {
    let (status, body) = http_client::get(admin, path).await?;
    anyhow::ensure!(status == 200, "GET {path}: {status} {body}");
    Ok(serde_json::from_str(&body)?)
}

/// Each viewer page and the requests it makes, with ids taken from the store.
async fn pages(admin: SocketAddr) -> anyhow::Result<Vec<(&'static str, Vec<String>)>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let day = 86_400_000;
    let newest = json(admin, "/api/traces?limit=1").await?;
    let trace = &newest["traces"][0];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let trace_id = text(&trace["trace_id"]);
    let service = text(&trace["root_service"]);
    let session = text(&trace["session_id"]);
    let view = text(&trace["page_view_id"]);
    anyhow::ensure!(!trace_id.is_empty(), "the store holds no traces");
    let page_json = json(admin, &format!("/api/page_views/{view}")).await?;
    let page = text(&page_json["page"]);
    let enc = |s: &str| {
        s.replace('%', "%25")
            .replace(' ', "%20")
            .replace('/', "%2F")
    };
    let last_day = format!("from_ms={}", now - day);
    let last_week = format!("from_ms={}", now - 7 * day);
    Ok(vec![
        (
            "traces, last 24 h",
            vec![format!("/api/traces?limit=50&{last_day}")],
        ),
        ("traces, all time", vec!["/api/traces?limit=50".into()]),
        (
            "traces, 24 h, service",
            vec![format!(
                "/api/traces?limit=50&{last_day}&service={}",
                enc(&service)
            )],
        ),
        (
            "traces, 24 h, error (none match)",
            vec![format!("/api/traces?limit=50&{last_day}&status=error")],
        ),
        (
            "traces, 24 h, URL substring",
            vec![format!("/api/traces?limit=50&{last_day}&url=api")],
        ),
        (
            "traces, 24 h, duration > 100 ms",
            vec![format!("/api/traces?limit=50&{last_day}&min_ms=100")],
        ),
        (
            "traces, all time, name matches none",
            vec!["/api/traces?limit=50&name=no-such-span".into()],
        ),
        (
            "traces, 24 h, duration matches none",
            vec![format!("/api/traces?limit=50&{last_day}&min_ms=86400000")],
        ),
        (
            "traces, all time, session",
            vec![format!("/api/traces?limit=50&session_id={session}")],
        ),
        (
            "traces, 7 d, page",
            vec![format!(
                "/api/traces?limit=50&{last_week}&page={}",
                enc(&page)
            )],
        ),
        ("trace", vec![format!("/api/traces/{trace_id}")]),
        (
            "pages, 7 d (table + chart)",
            vec![
                format!("/api/pages?{last_week}"),
                format!("/api/pages/series?vital=LCP&bucket=hour&{last_week}"),
            ],
        ),
        (
            "pages, 7 d, chart by browser",
            vec![format!(
                "/api/pages/series?vital=LCP&bucket=hour&by=browser&{last_week}"
            )],
        ),
        (
            "pages, 30 d (table + daily chart)",
            vec![
                format!("/api/pages?from_ms={}", now - 30 * day),
                format!(
                    "/api/pages/series?vital=INP&bucket=day&from_ms={}",
                    now - 30 * day
                ),
            ],
        ),
        (
            "page views behind a point (1 h)",
            vec![format!(
                "/api/page_views?vital=LCP&limit=50&from_ms={}&to_ms={}",
                now - 2 * 3_600_000,
                now - 3_600_000
            )],
        ),
        (
            "page view",
            vec![
                format!("/api/page_views/{view}"),
                format!("/api/traces?limit=50&page_view_id={view}"),
            ],
        ),
        ("sessions", vec!["/api/sessions?limit=100".into()]),
        ("session", vec![format!("/api/sessions/{session}")]),
        ("errors", vec!["/api/errors?limit=200".into()]),
        (
            "releases",
            vec![format!("/api/releases?service={}", enc(&service))],
        ),
    ])
}
