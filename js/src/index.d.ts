/** Options of {@link init}. */
export interface InitOptions {
  /** Base URL of the rum-gateway's ingest listener, e.g. `https://rum.example.com` or `http://127.0.0.1:4318`. */
  endpoint: string;
  /** The app's ingest key (`dev` for a gateway in development mode). */
  apiKey: string;
  /** Becomes the resource attributes `service.name`, `service.version`, `deployment.environment.name`. */
  service?: { name?: string; version?: string; environment?: string };
  /**
   * Where fetch and XHR calls get a W3C `traceparent` header: origin strings (compared exactly with the
   * request's origin) or RegExps (tested against the whole URL). Defaults to the page's own origin.
   */
  propagateTraceTo?: Array<string | RegExp>;
  /** Share of sessions recorded, 0 to 1, decided once per session. Defaults to 1. */
  sampleRate?: number;
  /**
   * Where to load the .wasm from. Defaults to beside the SDK's script; the npm entry falls back
   * to its inlined copy when no wasm is there.
   */
  wasmUrl?: string | URL;
  /**
   * Say on the console (`console.warn`, prefixed `rum:`), once each, why nothing is recorded or
   * sent: the .wasm missing, a Content-Security-Policy, a key the gateway refuses. Beacons then go
   * by fetch so that the gateway's answer can be read. Defaults to false.
   */
  debug?: boolean;
  /** As web-vitals' option: report every change of a metric, not only its final values. Defaults to false. */
  reportAllChanges?: boolean;
  /** Attribution of each vital, as web-vitals/attribution gives it. Defaults to true. */
  attribution?: boolean;
  /**
   * Milliseconds without user activity (click, key press, scroll) after which the session ends;
   * the next activity starts a new one, with a new id and a new sampling decision. Defaults to
   * 1,800,000 (30 minutes).
   */
  sessionIdleTimeout?: number;
  /** Milliseconds after its start at which a session ends however active. Defaults to 14,400,000 (4 hours). */
  sessionMaxDuration?: number;
  /** Record `console.error` calls as errors (kind `console`). Defaults to false. */
  captureConsole?: boolean;
}

/** Attribute values the SDK sends; others (objects, arrays, NaN) are left out. */
export type Attributes = Record<string, string | number | boolean>;

/** A web vital report, the same shape as web-vitals' `Metric`. */
export interface Metric {
  name: 'CLS' | 'FCP' | 'INP' | 'LCP' | 'TTFB';
  /** Milliseconds; unitless for CLS. */
  value: number;
  rating: 'good' | 'needs-improvement' | 'poor';
  /** Change since this metric instance's previous report. */
  delta: number;
  /** Unique per metric instance (a back/forward-cache restore starts new instances). */
  id: string;
  navigationType: 'navigate' | 'reload' | 'back-forward' | 'back-forward-cache' | 'prerender' | 'restore';
  /**
   * As web-vitals/attribution: LCP `target`, `url`, `timeToFirstByte`, `resourceLoadDelay`,
   * `resourceLoadDuration`, `elementRenderDelay`; CLS `largestShiftTarget`, `largestShiftTime`,
   * `largestShiftValue`, `loadState`; INP `interactionTarget`, `interactionType`, `interactionTime`,
   * `nextPaintTime`, `inputDelay`, `processingDuration`, `presentationDelay`, `loadState`,
   * `longAnimationFrames`; FCP `timeToFirstByte`, `firstByteToFCP`, `loadState`; TTFB
   * `waitingDuration`, `cacheDuration`, `dnsDuration`, `connectionDuration`, `requestDuration`.
   * Plain values only (no entries or DOM nodes), so it can be sent as is.
   */
  attribution: Record<string, unknown>;
}

/** What {@link init} returns. */
export interface Rum {
  /** Sends whatever is queued now. */
  flush(): void;
  /**
   * Calls `callback` with each web vital report: final values when the page is hidden, as
   * web-vitals' `onLCP`/`onCLS`/… do (every change with `reportAllChanges`). The callback runs
   * synchronously inside the visibilitychange/pagehide handling, so it may use sendBeacon.
   */
  onMetric(callback: (metric: Metric) => void): void;
  event: typeof event;
  setUser: typeof setUser;
  setAttributes: typeof setAttributes;
  setView: typeof setView;
  error: typeof error;
}

/**
 * Records a custom event (`rum.event('checkout', { items: 2 })`), sent as an `events` item of the
 * current view and exported as an OpenTelemetry log record with `event.name`. Like the other
 * calls below, it works before {@link init} and before the wasm has loaded: calls are queued (at
 * most 100) with their time.
 */
export function event(name: string, attributes?: Attributes): void;
/**
 * Sets `user.id` on everything recorded from now on. Send an opaque id, never an e-mail address
 * (the gateway masks one if it sees it).
 */
export function setUser(user: { id?: string }): void;
/** Sets attributes added to every span and event recorded from now on (replacing earlier ones). */
export function setAttributes(attributes: Attributes): void;
/**
 * Names the current view, e.g. with its route template (`/product/:sku`): the viewer groups views
 * by name. Call it after the route has changed (after `history.pushState`).
 */
export function setView(name: string): void;

/** Starts the SDK. Never throws; if the wasm cannot load, the page is untouched apart from the fetch and XHR wrappers. */
export function init(options: InitOptions): Rum;
/**
 * Records a handled error (kind `handled`) with optional attributes. Uncaught errors, unhandled
 * rejections and failed script, stylesheet and image loads are recorded without a call.
 */
export function error(error: unknown, attributes?: Attributes): void;
