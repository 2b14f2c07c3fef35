//! Embeds uap-core's `regexes.yaml` in `rum-gateway`, so the binary parses user agents from
//! any working directory with no file beside it.
//!
//! `scripts/ensure-tools.sh` unpacks npm `uap-core` (pinned there) into `assets/uap-core/`
//! (gitignored; `scripts/test.sh` and `scripts/demo.sh` run it before cargo). When the file
//! is there, `$OUT_DIR/uap_regexes.rs` includes its bytes; when it is not, it says so and the
//! gateway looks for the file at start (`src/enrich/user_agent_regexes.rs`), failing the
//! start when it finds none. No crate on crates.io ships uap-core 0.18.0's file as a
//! dependency would (`uaparser` vendors 0.15.0 and `ua-parser` a later git commit, both
//! inside their sources, not as an API), hence this script.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("assets").join("uap-core");
    let regexes = dir.join("regexes.yaml");
    let version = dir.join("VERSION");
    // A missing file counts as changed, so a build without it runs this again each time and
    // embeds the file as soon as ensure-tools.sh has put it there.
    println!("cargo:rerun-if-changed={}", regexes.display());
    println!("cargo:rerun-if-changed={}", version.display());

    let code = if regexes.is_file() {
        let version = std::fs::read_to_string(&version)
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string());
        let path = regexes.to_str().expect("a UTF-8 path to regexes.yaml");
        format!(
            "/// uap-core's `regexes.yaml`, embedded at build time.\n\
             pub const EMBEDDED: Option<Embedded> = Some(Embedded {{\n    \
                 version: {version:?},\n    \
                 yaml: include_bytes!({path:?}),\n\
             }});\n"
        )
    } else {
        println!(
            "cargo:warning=No {} to embed: rum-gateway will need enrich.user_agent_regexes, a \
             regexes.yaml beside it or in its data directory, or enrich.user_agent_parsing = \
             false. Run scripts/ensure-tools.sh to get it.",
            regexes.display()
        );
        "/// No `regexes.yaml` was there at build time.\n\
         pub const EMBEDDED: Option<Embedded> = None;\n"
            .to_string()
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("uap_regexes.rs"), code).expect("writing uap_regexes.rs");
}
