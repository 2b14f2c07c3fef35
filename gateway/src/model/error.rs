//! Browser errors (issue 14): what the SDK captured (`errors` of beacon v1), and what the
//! gateway adds at ingest (frames parsed from the stack, each resolved through a source map
//! where one is found, and the group's fingerprint).

use serde::{Deserialize, Serialize};

use super::{Attributes, SpanId, TraceId};

/// One error the SDK recorded in a view: an uncaught exception, an unhandled rejection, a
/// handled one (`rum.error`), a console error or a failed resource load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowserError {
    pub session_id: String,
    pub page_view_id: String,
    /// The SDK's id for this record: 16 lowercase hex digits; the key of count updates.
    pub id: String,
    /// `uncaught`, `unhandledrejection`, `handled`, `console` or `resource`.
    pub kind: String,
    /// `exception.type`: the constructor name (`TypeError`), `Error` when unknown,
    /// `ResourceError` for a failed load.
    pub error_type: String,
    /// `exception.message`.
    pub message: String,
    /// `exception.stacktrace` as the browser gave it; empty when none.
    pub stack: String,
    /// Where the browser says it was thrown (or the failed resource's URL).
    pub source: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// When it first happened in the view.
    pub time_unix_nano: i64,
    /// Occurrences in the view so far (≥ 1); a later beacon may repeat the id with more.
    pub count: u64,
    /// The user action in progress.
    pub action_span_id: Option<SpanId>,
    /// The in-flight request that failed with it (its client span).
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    /// Its own attributes with `session.id`, `rum.page_view.id`, `user.id` and the global
    /// attributes stamped.
    pub attributes: Attributes,
    pub resource: Attributes,
    /// The stack's frames, innermost first, symbolicated where a source map was found
    /// (filled by the errors stage; empty before it).
    pub frames: Vec<Frame>,
    /// Frames past `errors.max_frames`, left out.
    pub frames_omitted: usize,
    /// The group it belongs to (filled by the errors stage).
    pub fingerprint: String,
}

/// One frame of a stack: as the browser wrote it (minified), and where a source map
/// resolved it, the original position beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// The function as the stack names it (`levelTwo`, `Object.foo`, `new Foo`); `None` for an
    /// anonymous frame.
    pub function: Option<String>,
    /// The script's URL (or `<anonymous>`, `[native code]`).
    pub url: String,
    /// 1-based, as browsers write them.
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// Whether the frame is the page's own code (not a browser extension, native code or a
    /// dependency under `node_modules`).
    pub in_app: bool,
    /// Where the source map put it; `None` when it was not resolved (see `unresolved`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<OriginalFrame>,
    /// Why the frame stayed minified: `no_line`, `no_sourcemap`, `broken_sourcemap: …`,
    /// `no_mapping`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
}

impl Frame {
    /// The function name to show: the original one where resolved.
    pub fn best_function(&self) -> Option<&str> {
        self.original
            .as_ref()
            .and_then(|o| o.function.as_deref())
            .or(self.function.as_deref())
    }
}

/// A frame's original position, from a source map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginalFrame {
    /// The original source file as the map names it (`src/cart.ts`, `webpack://shop/./x.js`).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The original function name: the name the caller's call site maps to (for the
    /// outermost frame, the minified name); `None` when unknown.
    pub function: Option<String>,
    /// Lines around it, when the map carries `sourcesContent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<SourceContext>,
}

/// Source lines around a frame's original line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceContext {
    /// The 1-based line number of `pre[0]` (or of `line` when `pre` is empty).
    pub start_line: u32,
    pub pre: Vec<String>,
    pub line: String,
    pub post: Vec<String>,
}
