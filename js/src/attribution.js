// Attribution, as web-vitals/attribution computes it: which element, resource, interaction
// or network phase a metric's value came from. This is reading entries and the DOM (the
// edges); the metric itself is decided in wasm, whose report names its entry (`detail`):
// the LCP entry's startTime, the largest shift's startTime, the INP interaction's id.
// Only the bookkeeping below runs per entry; the attribution is built when a report is made.

const MAX_SELECTOR = 100;
const MAX_KEPT = 100; // interactions, frame groups and LoAFs kept for lookup
// Resource entries kept, as web-vitals keeps them: the browser's own buffer stops at 250, so
// on a page with more the LCP resource is only found among those observed.
const MAX_RESOURCES = 50;

export function createAttribution() {
  let lcpEntry;
  let lcpTarget;
  let fcpEntry;
  let restoredAt = -1;
  // Layout shifts as { entry, target }: the one wasm is deciding on, the largest of the
  // current window, and that of the largest window (what CLS reports). wasm's flags say which.
  let shift, windowLargest, largestWindow;
  const resources = [];
  const interactions = new Map(); // interactionId → { entries, latency, target }
  let groups = []; // event entries grouped by render time (± 8 ms)
  const groupOf = new WeakMap();
  let loafs = [];

  const bookkeeping = {
    fcp(entry) {
      fcpEntry = entry;
    },
    lcp(entry) {
      lcpEntry = entry;
      lcpTarget = entry.element ? selector(entry.element) : entry.id ? '#' + entry.id : undefined;
    },
    shift(entry) {
      if (entry.hadRecentInput) return;
      const source = largestSource(entry.sources);
      shift = { entry, target: source && source.node ? selector(source.node) : undefined };
    },
    // wasm's answer for that shift (rum-sdk/src/vitals/cls.rs: WINDOW_LARGEST, LARGEST_WINDOW).
    shifted(flags) {
      if (flags & 1) windowLargest = shift;
      if (flags & 2) largestWindow = windowLargest;
    },
    event(entry) {
      // web-vitals' groupEntriesByRenderTime: entries painted in the same frame form a group.
      const renderTime = entry.startTime + entry.duration;
      let group;
      for (let k = groups.length - 1; k >= 0 && !group; k--) if (Math.abs(renderTime - groups[k].renderTime) <= 8) group = groups[k];
      if (group) {
        group.startTime = Math.min(entry.startTime, group.startTime);
        group.processingStart = Math.min(entry.processingStart, group.processingStart);
        group.processingEnd = Math.max(entry.processingEnd, group.processingEnd);
      } else {
        group = { startTime: entry.startTime, processingStart: entry.processingStart, processingEnd: entry.processingEnd, renderTime };
        groups.push(group);
        if (groups.length > MAX_KEPT) groups = groups.slice(-MAX_KEPT);
      }
      if (!entry.interactionId) return;
      groupOf.set(entry, group);
      // web-vitals' InteractionManager: an interaction's entries are those of its longest duration.
      const i = interactions.get(entry.interactionId);
      if (!i) {
        interactions.set(entry.interactionId, { entries: [entry], latency: entry.duration, target: entry.target ? selector(entry.target) : undefined });
        // Past the limit, forget the shortest interaction: INP is one of the longest.
        if (interactions.size > MAX_KEPT) {
          let shortest;
          for (const [id, x] of interactions) if (!shortest || x.latency < shortest[1].latency) shortest = [id, x];
          interactions.delete(shortest[0]);
        }
      } else if (entry.duration > i.latency) {
        i.entries = [entry];
        i.latency = entry.duration;
      } else if (entry.duration === i.latency && entry.startTime === i.entries[0].startTime) {
        i.entries.push(entry);
      }
      if (i && !i.target && entry.target) i.target = selector(entry.target);
    },
    resource(entry) {
      resources.push(entry);
      if (resources.length > MAX_RESOURCES) resources.shift();
    },
    loaf(entry) {
      loafs.push(entry);
      if (loafs.length > MAX_KEPT) loafs = loafs.slice(-MAX_KEPT);
    },
    restored(timeStamp) {
      restoredAt = timeStamp;
    },
  };

  const attribute = {
    TTFB(value, _detail, restored) {
      const nav = !restored && navigationEntry();
      if (!nav) return { waitingDuration: 0, cacheDuration: 0, dnsDuration: 0, connectionDuration: 0, requestDuration: 0 };
      const act = nav.activationStart || 0;
      const waitEnd = Math.max((nav.workerStart || nav.fetchStart || 0) - act, 0);
      const dnsStart = Math.max(nav.domainLookupStart - act, 0);
      const connectStart = Math.max(nav.connectStart - act, 0);
      const connectEnd = Math.max(nav.connectEnd - act, 0);
      return {
        waitingDuration: waitEnd,
        cacheDuration: dnsStart - waitEnd,
        dnsDuration: connectStart - dnsStart,
        connectionDuration: connectEnd - connectStart,
        requestDuration: value - connectEnd,
      };
    },
    FCP(value, _detail, restored) {
      const nav = navigationEntry();
      if (restored || !fcpEntry || !nav) return { timeToFirstByte: 0, firstByteToFCP: value, loadState: loadState(restoredAt) };
      const ttfb = Math.max(0, nav.responseStart - (nav.activationStart || 0));
      return { timeToFirstByte: ttfb, firstByteToFCP: value - ttfb, loadState: loadState(fcpEntry.startTime) };
    },
    LCP(value, detail, restored) {
      const a = { timeToFirstByte: 0, resourceLoadDelay: 0, resourceLoadDuration: 0, elementRenderDelay: value };
      const entry = !restored && lcpEntry && lcpEntry.startTime === detail ? lcpEntry : undefined;
      if (!entry) return a;
      const isResource = (e) => e.name === entry.url && (e.requestStart || e.startTime) <= entry.startTime;
      // The last match, those observed before the browser's (web-vitals' order).
      const resource = entry.url && performance.getEntriesByType('resource').concat(resources).filter(isResource).pop();
      a.target = lcpTarget;
      if (entry.url) a.url = entry.url;
      const nav = navigationEntry();
      if (!nav) return a;
      const act = nav.activationStart || 0;
      const ttfb = Math.max(0, nav.responseStart - act);
      const requestStart = Math.max(ttfb, resource ? (resource.requestStart || resource.startTime) - act : 0);
      const responseEnd = Math.min(value, Math.max(requestStart, resource ? resource.responseEnd - act : 0));
      return Object.assign(a, {
        timeToFirstByte: ttfb,
        resourceLoadDelay: requestStart - ttfb,
        resourceLoadDuration: responseEnd - requestStart,
        elementRenderDelay: value - responseEnd,
      });
    },
    CLS(_value, detail) {
      // The shift wasm's CLS names (after a restore, one since it, as in web-vitals). A report
      // made inside wasm.shift comes before `shifted`, so the new shift is a candidate too.
      const s = [shift, windowLargest, largestWindow].find((s) => s && s.entry.startTime === detail);
      if (!s) return {};
      const e = s.entry;
      return { largestShiftTarget: s.target, largestShiftTime: e.startTime, largestShiftValue: e.value, loadState: loadState(e.startTime) };
    },
    INP(value, detail) {
      const i = interactions.get(detail);
      const first = i && i.entries[0];
      const group = first && groupOf.get(first);
      if (!group) return { inputDelay: 0, processingDuration: 0, presentationDelay: value, loadState: loadState(restoredAt >= 0 ? restoredAt : 0), longAnimationFrames: [] };
      const processingStart = Math.max(group.processingStart, first.startTime);
      const nextPaintTime = Math.max(first.startTime + first.duration, processingStart);
      const processingEnd = Math.min(group.processingEnd, nextPaintTime);
      return {
        interactionTarget: i.target,
        interactionType: first.name.startsWith('key') ? 'keyboard' : 'pointer',
        interactionTime: first.startTime,
        nextPaintTime,
        inputDelay: processingStart - first.startTime,
        processingDuration: processingEnd - processingStart,
        presentationDelay: nextPaintTime - processingEnd,
        loadState: loadState(first.startTime),
        // Long animation frames overlapping the interaction, with the scripts that ran.
        longAnimationFrames: loafs
          .filter((l) => l.startTime + l.duration >= first.startTime && l.startTime <= processingEnd)
          .map((l) => ({
            startTime: l.startTime,
            duration: l.duration,
            blockingDuration: l.blockingDuration,
            scripts: Array.from(l.scripts || [], (s) => ({ sourceURL: s.sourceURL, sourceFunctionName: s.sourceFunctionName, invoker: s.invoker, duration: s.duration })),
          })),
      };
    },
  };

  return { bookkeeping, attribute };
}

// web-vitals' getSelector: ids stop the walk; otherwise tag plus sorted classes, up to 100 chars.
export function selector(node) {
  let sel = '';
  try {
    while (node && node.nodeType !== 9) {
      const name = node.nodeType === 1 ? node.nodeName.toLowerCase() : node.nodeName.toUpperCase().replace(/^#/, '');
      const part = node.id ? '#' + node.id : [name, ...Array.from(node.classList || []).sort()].join('.');
      if (sel.length + part.length > MAX_SELECTOR - 1) return sel || part;
      sel = sel ? part + '>' + sel : part;
      if (node.id) break;
      node = node.parentNode;
    }
  } catch {}
  return sel;
}

const largestSource = (sources) => (sources || []).find((s) => s.node && s.node.nodeType === 1) || (sources || [])[0];

// The navigation entry when its responseStart is sane (web-vitals' getNavigationEntry).
function navigationEntry() {
  const nav = performance.getEntriesByType('navigation')[0];
  return nav && nav.responseStart > 0 && nav.responseStart < performance.now() ? nav : undefined;
}

function loadState(t) {
  if (document.readyState === 'loading') return 'loading';
  const nav = navigationEntry();
  if (nav) {
    if (t < nav.domInteractive) return 'loading';
    if (nav.domContentLoadedEventStart === 0 || t < nav.domContentLoadedEventStart) return 'dom-interactive';
    if (nav.domComplete === 0 || t < nav.domComplete) return 'dom-content-loaded';
  }
  return 'complete';
}
