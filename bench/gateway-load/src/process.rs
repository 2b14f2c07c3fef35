//! Child processes (the gateway and the floor) and what `/proc` says about them: CPU time,
//! per-thread CPU time, peak resident memory, bytes written, and the store writer's state.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::http_client;

/// A server the load generator started; killed if dropped without [`Server::stop`].
pub struct Server {
    pub name: String,
    child: Child,
    pub pid: u32,
    /// Where requests go.
    pub ingest: SocketAddr,
    /// The gateway's admin listener (health, metrics); none for the floor.
    pub admin: Option<SocketAddr>,
    pub log: PathBuf,
}

/// Starts `program args…`, its stderr into `log`, and reads its stdout until it has printed
/// a line `{ingest_prefix}http://ADDR` and, if given, `{admin_prefix}http://ADDR/`.
pub async fn spawn(
    name: &str,
    program: &Path,
    args: &[&str],
    log: &Path,
    ingest_prefix: &str,
    admin_prefix: Option<&str>,
) -> anyhow::Result<Server> {
    let log_file =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {name}: {}", program.display()))?;
    let pid = child.id().ok_or_else(|| anyhow!("{name} exited at once"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("{name}: no stdout pipe"))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut ingest = None;
    let mut admin = None;
    let wanted = async {
        while let Some(line) = lines.next_line().await? {
            if let Some(addr) = address_after(&line, ingest_prefix) {
                ingest = Some(addr);
            }
            if let Some(prefix) = admin_prefix {
                if let Some(addr) = address_after(&line, prefix) {
                    admin = Some(addr);
                }
            }
            if ingest.is_some() && (admin_prefix.is_none() || admin.is_some()) {
                return Ok::<bool, std::io::Error>(true);
            }
        }
        Ok(false)
    };
    let found = tokio::time::timeout(Duration::from_secs(60), wanted)
        .await
        .map_err(|_| {
            anyhow!(
                "{name} did not print its listen address within 60 s; see {}",
                log.display()
            )
        })?
        .with_context(|| format!("reading {name}'s stdout"))?;
    if !found {
        bail!(
            "{name} exited before it was listening; see {}",
            log.display()
        );
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let ingest = ingest.ok_or_else(|| anyhow!("{name}: no ingest address"))?;
    Ok(Server {
        name: name.to_string(),
        child,
        pid,
        ingest,
        admin,
        log: log.to_path_buf(),
    })
}

fn address_after(line: &str, prefix: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix(prefix)?.strip_prefix("http://")?;
    rest.trim_end_matches('/').parse().ok()
}

impl Server {
    /// Where load for this server goes.
    pub fn target(&self) -> crate::scenario::Target {
        crate::scenario::Target {
            name: self.name.clone(),
            addr: self.ingest,
            pid: Some(self.pid),
        }
    }

    /// Waits until `GET /healthz` on the admin listener answers 200.
    pub async fn wait_healthy(&self) -> anyhow::Result<()> {
        let Some(admin) = self.admin else {
            return Ok(());
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = http_client::get(admin, "/healthz").await {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} not healthy within 60 s; see {}",
                    self.name,
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then waits (the gateway drains its store queue); SIGKILL after 60 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let pid = libc::pid_t::try_from(self.pid).context("pid out of range")?;
        // SAFETY: kill(2) with a pid of our own child and a valid signal number.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        if rc != 0 {
            bail!(
                "kill -TERM {}: {}",
                self.pid,
                std::io::Error::last_os_error()
            );
        }
        match tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await {
            Ok(status) => {
                let status = status.with_context(|| format!("waiting for {}", self.name))?;
                if !status.success() {
                    eprintln!(
                        "  warning: {} exited with {status}; see {}",
                        self.name,
                        self.log.display()
                    );
                }
            }
            Err(_) => {
                eprintln!(
                    "  warning: {} did not stop within 60 s of SIGTERM; killing it",
                    self.name
                );
                self.child
                    .kill()
                    .await
                    .with_context(|| format!("killing {}", self.name))?;
            }
        }
        Ok(())
    }
}

/// `"self"` or a pid, for `/proc/{which}/…`.
pub fn proc_dir(pid: Option<u32>) -> PathBuf {
    match pid {
        Some(pid) => PathBuf::from(format!("/proc/{pid}")),
        None => PathBuf::from("/proc/self"),
    }
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// utime + stime of a `stat` file (a process's or one thread's), in seconds, and its name.
fn stat_cpu(path: &Path) -> anyhow::Result<(String, f64, char)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    // The name is in parentheses and may hold spaces; the fields after it are plain.
    let open = text
        .find('(')
        .ok_or_else(|| anyhow!("{}: no '('", path.display()))?;
    let close = text
        .rfind(')')
        .ok_or_else(|| anyhow!("{}: no ')'", path.display()))?;
    let name = text[open + 1..close].to_string();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // After the name: state (field 3), …, utime (14), stime (15).
    let state = fields.first().and_then(|s| s.chars().next()).unwrap_or('?');
    let utime: u64 = fields
        .get(11)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| anyhow!("{}: no utime", path.display()))?;
    let stime: u64 = fields
        .get(12)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| anyhow!("{}: no stime", path.display()))?;
    Ok((
        name,
        (utime + stime) as f64 / clock_ticks_per_second(),
        state,
    ))
}

/// A process's CPU time so far, in seconds (all threads).
pub fn cpu_seconds(pid: Option<u32>) -> anyhow::Result<f64> {
    Ok(stat_cpu(&proc_dir(pid).join("stat"))?.1)
}

/// CPU seconds so far by thread name (threads of one name summed), e.g. `tokio-runtime-w`,
/// `store-indexer`.
pub fn thread_cpu_seconds(pid: u32) -> anyhow::Result<BTreeMap<String, f64>> {
    let mut by_name = BTreeMap::new();
    let tasks = proc_dir(Some(pid)).join("task");
    for entry in
        std::fs::read_dir(&tasks).with_context(|| format!("listing {}", tasks.display()))?
    {
        let entry = entry.with_context(|| format!("listing {}", tasks.display()))?;
        // A thread may end between listing and reading: skip it.
        if let Ok((name, seconds, _)) = stat_cpu(&entry.path().join("stat")) {
            *by_name.entry(name).or_insert(0.0) += seconds;
        }
    }
    Ok(by_name)
}

/// Seconds the threads of `pid` have spent runnable but waiting for a CPU (second field of
/// each thread's `schedstat`): how much other processes (or each other) held them back.
pub fn runqueue_wait_seconds(pid: u32) -> anyhow::Result<f64> {
    let tasks = proc_dir(Some(pid)).join("task");
    let mut nanos: u64 = 0;
    for entry in
        std::fs::read_dir(&tasks).with_context(|| format!("listing {}", tasks.display()))?
    {
        let entry = entry.with_context(|| format!("listing {}", tasks.display()))?;
        if let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) {
            nanos += text
                .split_whitespace()
                .nth(1)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(nanos as f64 / 1e9)
}

/// CPU seconds the whole machine has been busy (all cores; `/proc/stat` minus idle and
/// iowait).
pub fn machine_busy_seconds() -> anyhow::Result<f64> {
    let text = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = text
        .lines()
        .next()
        .ok_or_else(|| anyhow!("/proc/stat is empty"))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already)
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    Ok(busy as f64 / clock_ticks_per_second())
}

/// A `kB` line of `/proc/{pid}/status`, in bytes.
fn status_kb(pid: Option<u32>, key: &str) -> anyhow::Result<u64> {
    let path = proc_dir(pid).join("status");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .find_map(|line| {
            line.strip_prefix(key)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .ok_or_else(|| anyhow!("{}: no {key}", path.display()))
}

/// Peak resident set (VmHWM) over the process's life, in bytes.
pub fn peak_rss_bytes(pid: Option<u32>) -> anyhow::Result<u64> {
    status_kb(pid, "VmHWM:")
}

/// Resident set (VmRSS) now, in bytes.
pub fn rss_bytes(pid: Option<u32>) -> anyhow::Result<u64> {
    status_kb(pid, "VmRSS:")
}

/// Bytes the process caused to be written to storage (`write_bytes` of `/proc/{pid}/io`).
pub fn storage_write_bytes(pid: u32) -> anyhow::Result<u64> {
    let path = proc_dir(Some(pid)).join("io");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .find_map(|line| line.strip_prefix("write_bytes:")?.trim().parse().ok())
        .ok_or_else(|| anyhow!("{}: no write_bytes", path.display()))
}

/// Bytes free for unprivileged use on the file system holding `path`.
pub fn free_disk_bytes(path: &Path) -> anyhow::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path =
        std::ffi::CString::new(path.as_os_str().as_bytes()).context("path with a NUL byte")?;
    // SAFETY: statvfs writes into a zeroed struct we own; the path is NUL-terminated.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    if rc != 0 {
        bail!(
            "statvfs {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        );
    }
    // fsblkcnt_t and c_ulong are 32 bits on some targets.
    #[allow(clippy::useless_conversion)]
    let bytes = u64::from(stat.f_bavail) * u64::from(stat.f_frsize);
    Ok(bytes)
}

/// The thread of `pid` named `name`, if any.
pub fn find_thread(pid: u32, name: &str) -> Option<PathBuf> {
    let tasks = proc_dir(Some(pid)).join("task");
    std::fs::read_dir(tasks)
        .ok()?
        .flatten()
        .map(|e| e.path().join("stat"))
        .find(|stat| {
            std::fs::read_to_string(stat)
                .ok()
                .is_some_and(|t| t.contains(&format!("({name})")))
        })
}

/// How often a thread was seen running, waiting on the disk, or idle.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct StateShares {
    pub samples: u64,
    /// `R`: on a CPU or waiting for one.
    pub running: f64,
    /// `D`: uninterruptible sleep, for the store's index thread almost always fsync.
    pub disk_wait: f64,
    /// `S` and anything else: waiting for work.
    pub idle: f64,
}

/// Samples one thread's scheduler state every `every` on a plain thread until stopped.
pub struct StateSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<StateShares>,
}

impl StateSampler {
    pub fn start(stat: PathBuf, every: Duration) -> StateSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let (mut r, mut d, mut other) = (0u64, 0u64, 0u64);
            while !flag.load(Ordering::Relaxed) {
                match stat_cpu(&stat) {
                    Ok((_, _, 'R')) => r += 1,
                    Ok((_, _, 'D')) => d += 1,
                    Ok(_) => other += 1,
                    Err(_) => break,
                }
                std::thread::sleep(every);
            }
            let n = r + d + other;
            let share = |x: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
            StateShares {
                samples: n,
                running: share(r),
                disk_wait: share(d),
                idle: share(other),
            }
        });
        StateSampler { stop, thread }
    }

    pub fn finish(self) -> StateShares {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}
