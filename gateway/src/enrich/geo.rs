//! IP geolocation from a MaxMind DB file (GeoIP2/GeoLite2 City or Country).
//!
//! The database is read into memory and swapped atomically when the file changes: a watcher
//! thread compares the file's modification time and length every few seconds, so a new
//! monthly database is picked up without a restart. Lookups never touch the disk. The file
//! must load at start: a configured database that is missing or unreadable fails the start
//! instead of leaving the geo attributes off unnoticed.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime};

use maxminddb::{geoip2, Reader};
use serde_json::Value;

use crate::model::Attributes;

type Db = Reader<Vec<u8>>;

/// What identifies one version of the file on disk.
type Stamp = (Option<SystemTime>, u64);

/// Looks addresses up in the current database; cheap to share.
pub struct Geo {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    coordinates: bool,
    db: RwLock<Option<Arc<Db>>>,
    /// The stamp of the file last tried, loaded or not, so a bad file is not re-read on
    /// every check.
    tried: RwLock<Option<Stamp>>,
}

/// Why the configured GeoIP database could not be loaded at start.
#[derive(Debug, thiserror::Error)]
#[error(
    "enrich.geoip_database = {:?} cannot be loaded: {message}. Point it at a MaxMind City or \
     Country database, or remove enrich.geoip_database to run without geo attributes.",
    .path.display().to_string()
)]
pub struct GeoError {
    pub path: PathBuf,
    pub message: String,
}

impl Geo {
    /// Opens `path` and starts watching it every `check_every`. The file must be there and
    /// readable now; a later version that cannot be read keeps the one loaded.
    pub fn open(path: &Path, coordinates: bool, check_every: Duration) -> Result<Geo, GeoError> {
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            coordinates,
            db: RwLock::new(None),
            tried: RwLock::new(None),
        });
        inner.load().map_err(|message| GeoError {
            path: path.to_path_buf(),
            message,
        })?;
        let weak = Arc::downgrade(&inner);
        let spawned = std::thread::Builder::new()
            .name("geoip-watch".into())
            .spawn(move || watch(weak, check_every));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "Could not start the GeoIP file watcher: changes need a restart.");
        }
        Ok(Geo { inner })
    }

    /// Whether a database is loaded.
    pub fn is_loaded(&self) -> bool {
        self.inner.current().is_some()
    }

    /// Checks the file now instead of waiting for the watcher.
    pub fn reload_if_changed(&self) {
        self.inner.reload_if_changed();
    }

    /// Adds `geo.*` attributes for `ip` to `attrs`; nothing for an address the database
    /// does not know.
    pub fn lookup_into(&self, ip: IpAddr, attrs: &mut Attributes) {
        let Some(db) = self.inner.current() else {
            return;
        };
        let city = match db.lookup(ip).and_then(|r| r.decode::<geoip2::City>()) {
            Ok(Some(city)) => city,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(%ip, error = %e, "GeoIP lookup failed.");
                return;
            }
        };
        let mut put = |key: &str, value: Option<&str>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                attrs.insert(key.into(), Value::String(v.into()));
            }
        };
        put("geo.continent.code", city.continent.code);
        put("geo.country.iso_code", city.country.iso_code);
        // ISO 3166-2, as the semantic conventions define it: the country's code, a hyphen
        // and MaxMind's subdivision code (`GB` + `ENG` → `GB-ENG`). The largest subdivision
        // is the first.
        let region = match (
            city.country.iso_code.filter(|c| !c.is_empty()),
            city.subdivisions.first().and_then(|s| s.iso_code),
        ) {
            (Some(country), Some(sub)) if !sub.is_empty() => Some(format!("{country}-{sub}")),
            _ => None,
        };
        put("geo.region.iso_code", region.as_deref());
        put("geo.locality.name", city.city.names.english);
        put("geo.postal_code", city.postal.code);
        if self.inner.coordinates {
            if let (Some(lat), Some(lon)) = (city.location.latitude, city.location.longitude) {
                attrs.insert("geo.location.lat".into(), Value::from(lat));
                attrs.insert("geo.location.lon".into(), Value::from(lon));
            }
        }
    }
}

impl Inner {
    fn current(&self) -> Option<Arc<Db>> {
        self.db.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The file's version on disk.
    fn stamp(&self) -> std::io::Result<Stamp> {
        let meta = std::fs::metadata(&self.path)?;
        Ok((meta.modified().ok(), meta.len()))
    }

    /// Loads the file now (at start), whatever was tried before.
    fn load(&self) -> Result<(), String> {
        let stamp = self.stamp().map_err(|e| e.to_string())?;
        *self.tried.write().unwrap_or_else(|e| e.into_inner()) = Some(stamp);
        self.read().map_err(|e| e.to_string())
    }

    fn reload_if_changed(&self) {
        // A missing file keeps the loaded database: a replacement is on its way.
        let Ok(stamp) = self.stamp() else {
            return;
        };
        if *self.tried.read().unwrap_or_else(|e| e.into_inner()) == Some(stamp) {
            return;
        }
        *self.tried.write().unwrap_or_else(|e| e.into_inner()) = Some(stamp);
        // Half-written files land here; the complete one has a new stamp.
        if let Err(e) = self.read() {
            tracing::warn!(
                path = %self.path.display(),
                error = %e,
                "Could not read the GeoIP database; keeping the previous one."
            );
        }
    }

    /// Reads the file and swaps it in.
    fn read(&self) -> Result<(), maxminddb::MaxMindDbError> {
        let db = Reader::open_readfile(&self.path)?;
        tracing::info!(
            path = %self.path.display(),
            database_type = %db.metadata().database_type,
            build_epoch = db.metadata().build_epoch,
            "Loaded the GeoIP database."
        );
        *self.db.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(db));
        Ok(())
    }
}

/// Runs until the [`Geo`] it watches is dropped.
fn watch(inner: Weak<Inner>, every: Duration) {
    loop {
        std::thread::sleep(every);
        match inner.upgrade() {
            Some(inner) => inner.reload_if_changed(),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(name: &str) -> PathBuf {
        crate::model::testing::testdata("mmdb").join(name)
    }

    fn lookup(geo: &Geo, ip: &str) -> Attributes {
        let mut attrs = Attributes::new();
        geo.lookup_into(ip.parse().expect("ip"), &mut attrs);
        attrs
    }

    #[test]
    fn the_known_lookups_of_the_city_test_databases() {
        for file in ["GeoIP2-City-Test.mmdb", "GeoLite2-City-Test.mmdb"] {
            let geo = Geo::open(&db(file), false, Duration::from_secs(3600)).expect("open");
            assert!(geo.is_loaded());
            let cases = [
                ("81.2.69.142", "London", "GB", "GB-ENG", "EU"),
                ("89.160.20.128", "Linköping", "SE", "SE-E", "EU"),
                ("216.160.83.56", "Milton", "US", "US-WA", "NA"),
                ("2.125.160.216", "Boxford", "GB", "GB-ENG", "EU"),
                // IPv4-mapped IPv6 finds the IPv4 record.
                ("::ffff:81.2.69.142", "London", "GB", "GB-ENG", "EU"),
            ];
            for (ip, city, country, region, continent) in cases {
                let a = lookup(&geo, ip);
                assert_eq!(a["geo.locality.name"], city, "{file} {ip}");
                assert_eq!(a["geo.country.iso_code"], country, "{file} {ip}");
                assert_eq!(a["geo.region.iso_code"], region, "{file} {ip}");
                assert_eq!(a["geo.continent.code"], continent, "{file} {ip}");
                assert!(a.get("geo.location.lat").is_none());
            }
            assert!(
                lookup(&geo, "127.0.0.1").is_empty(),
                "no record for loopback"
            );
        }
    }

    #[test]
    fn a_country_database_gives_country_and_continent_only() {
        let geo = Geo::open(
            &db("GeoLite2-Country-Test.mmdb"),
            true,
            Duration::from_secs(3600),
        )
        .expect("open");
        let a = lookup(&geo, "81.2.69.142");
        assert_eq!(a["geo.country.iso_code"], "GB");
        assert_eq!(a["geo.continent.code"], "EU");
        assert_eq!(a.len(), 2, "{a:?}");
    }

    #[test]
    fn a_missing_or_bad_file_fails_the_open_naming_the_setting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("geo.mmdb");
        let open = || Geo::open(&path, false, Duration::from_secs(3600));
        let err = open().err().expect("missing").to_string();
        assert!(err.contains("enrich.geoip_database"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        std::fs::write(&path, b"not a database").expect("write");
        assert!(open().is_err(), "unreadable");
    }

    #[test]
    fn a_bad_or_missing_replacement_keeps_the_loaded_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("geo.mmdb");
        std::fs::copy(db("GeoLite2-Country-Test.mmdb"), &path).expect("copy");
        let geo = Geo::open(&path, false, Duration::from_secs(3600)).expect("open");
        assert!(lookup(&geo, "81.2.69.142")
            .get("geo.locality.name")
            .is_none());
        std::fs::copy(db("GeoIP2-City-Test.mmdb"), &path).expect("copy");
        geo.reload_if_changed();
        assert_eq!(lookup(&geo, "81.2.69.142")["geo.locality.name"], "London");
        // A broken replacement, then none at all, keep the working database.
        std::fs::write(&path, b"truncated").expect("write");
        geo.reload_if_changed();
        assert_eq!(lookup(&geo, "81.2.69.142")["geo.locality.name"], "London");
        std::fs::remove_file(&path).expect("remove");
        geo.reload_if_changed();
        assert_eq!(lookup(&geo, "81.2.69.142")["geo.locality.name"], "London");
    }
}
