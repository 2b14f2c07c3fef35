//! Where uap-core's `regexes.yaml` comes from, and the compiled parsers shared by the process.
//!
//! In order: `enrich.user_agent_regexes` when set (it must be readable: a configured file
//! that is not there fails the start); else the copy built into the binary (`build.rs`);
//! else `regexes.yaml` beside the executable, then in the data directory. None of them is
//! an error at start, never a silent loss of the `user_agent.*` attributes; turning parsing
//! off (`enrich.user_agent_parsing = false`) is the way to run without.
//!
//! Compiling some thousand regexes costs about a quarter of a second of CPU and 27 MB, so parsers are
//! kept process-wide by the bytes they were compiled from: a second gateway in the same
//! process (tests, tools) reuses the first one's.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The compiled parsers (uap-core's user agent, OS and device lists).
pub type Extractor = ua_parser::Extractor<'static>;

/// uap-core's file embedded at build time.
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    /// The uap-core release (`assets/uap-core/VERSION`).
    pub version: &'static str,
    pub yaml: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/uap_regexes.rs"));

/// The name looked for beside the executable and in the data directory.
pub const FILE_NAME: &str = "regexes.yaml";

const HOW_TO_GET_THEM: &str = "Set enrich.user_agent_regexes to uap-core's regexes.yaml \
     (scripts/ensure-tools.sh puts it in gateway/assets/uap-core/, and a build after that \
     embeds it), or set enrich.user_agent_parsing = false to run without user-agent attributes";

/// Why there are no regexes to compile.
#[derive(Debug, thiserror::Error)]
pub enum RegexesError {
    // The I/O error is part of the message, not a `source`, so it is said once.
    #[error("{origin} cannot be read: {error}. {HOW_TO_GET_THEM}.")]
    Unreadable {
        origin: Origin,
        error: std::io::Error,
    },
    #[error(
        "no user-agent regexes: this rum-gateway was built without them and there is no \
         {FILE_NAME} at {}. {HOW_TO_GET_THEM}.",
        quoted(.searched)
    )]
    NotFound { searched: Vec<PathBuf> },
    #[error("the user-agent regexes from {origin} do not compile: {message}. {HOW_TO_GET_THEM}.")]
    Invalid { origin: Origin, message: String },
}

/// `"a" or "b"`.
fn quoted(paths: &[PathBuf]) -> String {
    let quoted: Vec<String> = paths
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    quoted.join(" or ")
}

/// Where the regexes came from, for logs and errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `enrich.user_agent_regexes`.
    Configured(PathBuf),
    /// Built into the binary.
    Embedded { version: &'static str },
    /// Found beside the executable or in the data directory.
    Found(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Configured(path) => {
                write!(
                    f,
                    "enrich.user_agent_regexes = {:?}",
                    path.display().to_string()
                )
            }
            Origin::Embedded { version } => write!(f, "the copy built in (uap-core {version})"),
            Origin::Found(path) => write!(f, "{:?}", path.display().to_string()),
        }
    }
}

/// The text of `regexes.yaml` and where it came from.
#[derive(Debug, Clone)]
pub struct Regexes {
    pub origin: Origin,
    pub yaml: Cow<'static, [u8]>,
}

impl Regexes {
    /// The file at `path`, as configured.
    pub fn configured(path: &Path) -> Result<Regexes, RegexesError> {
        let yaml = std::fs::read(path).map_err(|error| RegexesError::Unreadable {
            origin: Origin::Configured(path.to_path_buf()),
            error,
        })?;
        Ok(Regexes {
            origin: Origin::Configured(path.to_path_buf()),
            yaml: Cow::Owned(yaml),
        })
    }

    /// `configured` when set, else the embedded copy, else the first readable
    /// [`FILE_NAME`] beside the executable or in `data_dir`.
    pub fn locate(configured: Option<&Path>, data_dir: &Path) -> Result<Regexes, RegexesError> {
        let beside_exe = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(FILE_NAME)));
        let candidates: Vec<PathBuf> = beside_exe
            .into_iter()
            .chain([data_dir.join(FILE_NAME)])
            .collect();
        locate_in(configured, EMBEDDED, &candidates)
    }

    /// The parser compiled from these regexes, shared with every earlier caller that had
    /// the same bytes. Blocks for about a second on the first call: not on the runtime.
    pub fn compile(&self) -> Result<Arc<Extractor>, RegexesError> {
        compiled(&self.yaml).map_err(|message| RegexesError::Invalid {
            origin: self.origin.clone(),
            message,
        })
    }
}

/// [`Regexes::locate`] with the embedded copy and the search paths given.
fn locate_in(
    configured: Option<&Path>,
    embedded: Option<Embedded>,
    candidates: &[PathBuf],
) -> Result<Regexes, RegexesError> {
    if let Some(path) = configured {
        return Regexes::configured(path);
    }
    if let Some(embedded) = embedded {
        return Ok(Regexes {
            origin: Origin::Embedded {
                version: embedded.version,
            },
            yaml: Cow::Borrowed(embedded.yaml),
        });
    }
    for path in candidates {
        match std::fs::read(path) {
            Ok(yaml) => {
                return Ok(Regexes {
                    origin: Origin::Found(path.clone()),
                    yaml: Cow::Owned(yaml),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // There but unreadable: say so rather than look further and hide it.
            Err(error) => {
                return Err(RegexesError::Unreadable {
                    origin: Origin::Found(path.clone()),
                    error,
                })
            }
        }
    }
    Err(RegexesError::NotFound {
        searched: candidates.to_vec(),
    })
}

type Compiled = Result<Arc<Extractor>, String>;

/// A `regexes.yaml` text → the slot of its compiled parser.
type Parsers = Mutex<HashMap<Vec<u8>, Arc<OnceLock<Compiled>>>>;

/// One slot per distinct `regexes.yaml` text, filled once by whoever comes first; the others
/// wait for it instead of compiling the same regexes again.
fn compiled(yaml: &[u8]) -> Compiled {
    static PARSERS: OnceLock<Parsers> = OnceLock::new();
    let slot = {
        let mut parsers = PARSERS
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Arc::clone(parsers.entry(yaml.to_vec()).or_default())
    };
    slot.get_or_init(|| {
        // ua-parser rewrites `\d` and `\w` to their ASCII classes, as other uap-core
        // implementations match: Unicode classes would cost over 100 MB for no difference on
        // uap-core's test suites (uap_suites.rs).
        let regexes: ua_parser::Regexes<'static> =
            serde_yaml::from_slice(yaml).map_err(|e| e.to_string())?;
        Extractor::try_from(regexes)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded() -> Embedded {
        Embedded {
            version: "test",
            yaml: b"user_agent_parsers: []\nos_parsers: []\ndevice_parsers: []\n",
        }
    }

    #[test]
    fn a_configured_file_must_be_there_and_wins_over_the_embedded_copy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.yaml");
        let err = locate_in(Some(&missing), Some(embedded()), &[])
            .expect_err("missing")
            .to_string();
        assert!(err.contains("enrich.user_agent_regexes"), "{err}");
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(err.contains("enrich.user_agent_parsing = false"), "{err}");

        let file = dir.path().join("mine.yaml");
        std::fs::write(&file, embedded().yaml).expect("write");
        let found = locate_in(Some(&file), Some(embedded()), &[]).expect("configured");
        assert_eq!(found.origin, Origin::Configured(file));
    }

    #[test]
    fn unconfigured_takes_the_embedded_copy_then_searches_then_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, second) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
        let candidates = [first.clone(), second.clone()];
        std::fs::write(&second, embedded().yaml).expect("write");
        assert_eq!(
            locate_in(None, Some(embedded()), &candidates)
                .expect("embedded")
                .origin,
            Origin::Embedded { version: "test" }
        );
        assert_eq!(
            locate_in(None, None, &candidates).expect("found").origin,
            Origin::Found(second.clone())
        );
        std::fs::remove_file(&second).expect("remove");
        let err = locate_in(None, None, &candidates)
            .expect_err("none")
            .to_string();
        for needle in [
            &first.display().to_string(),
            &second.display().to_string(),
            "scripts/ensure-tools.sh",
            "enrich.user_agent_parsing = false",
        ] {
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn the_same_text_compiles_once_and_bad_text_is_an_error_naming_its_origin() {
        let regexes = locate_in(None, Some(embedded()), &[]).expect("embedded");
        let a = regexes.compile().expect("compiles");
        let b = regexes.compile().expect("compiles");
        assert!(Arc::ptr_eq(&a, &b), "compiled once");
        let bad = Regexes {
            origin: Origin::Found(PathBuf::from("/x/regexes.yaml")),
            yaml: Cow::Borrowed(
                b"user_agent_parsers: [{regex: '('}]\nos_parsers: []\ndevice_parsers: []\n",
            ),
        };
        let Err(err) = bad.compile() else {
            panic!("a bad regex compiled")
        };
        let err = err.to_string();
        assert!(err.contains("/x/regexes.yaml"), "{err}");
    }

    /// What the binary ships is what the tests (uap_suites.rs) check.
    #[test]
    fn the_embedded_copy_is_the_tested_one() {
        let Some(embedded) = EMBEDDED else {
            panic!(
                "built without gateway/assets/uap-core/regexes.yaml: run scripts/ensure-tools.sh"
            );
        };
        let tested = std::fs::read(crate::model::testing::testdata("uap-core/regexes.yaml"))
            .expect("shared test data");
        assert!(
            embedded.yaml == tested.as_slice(),
            "uap-core {}",
            embedded.version
        );
    }
}
