/** Options of {@link init}. */
export interface InitOptions {
  /** Base URL of the rum-gateway's ingest listener, e.g. `https://rum.example.com` or `http://127.0.0.1:4318`. */
  endpoint: string;
  /** The app's ingest key (`dev` for a gateway in development mode). */
  apiKey: string;
  /** Becomes the resource attributes `service.name`, `service.version`, `deployment.environment.name`. */
  service?: { name?: string; version?: string; environment?: string };
  /**
   * Where fetch calls get a W3C `traceparent` header: origin strings (compared exactly with the
   * request's origin) or RegExps (tested against the whole URL). Defaults to the page's own origin.
   */
  propagateTraceTo?: Array<string | RegExp>;
  /** Share of sessions recorded, 0 to 1, decided once per session. Defaults to 1. */
  sampleRate?: number;
  /** Where to load the .wasm from. Defaults to beside the SDK's script. */
  wasmUrl?: string | URL;
}

/** What {@link init} returns. */
export interface Rum {
  /** Sends whatever is queued now. */
  flush(): void;
}

/** Starts the SDK. Never throws; if the wasm cannot load, the page is untouched apart from the fetch wrapper. */
export function init(options: InitOptions): Rum;
