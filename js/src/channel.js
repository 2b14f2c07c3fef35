// The byte channel into the wasm (rum-sdk/src/io.rs): numbers into f64 slots, strings as
// UTF-8 each followed by a 0xFF byte, then an export is called with the strings' length. A
// string that does not fit is left unterminated, which the wasm reads as absent. Cheaper
// than wasm-bindgen's string passing would be (0.7–0.9 KB of glue each way).

const NUMBERS = 32;
const STRING_BYTES = 24 * 1024;
const encoder = new TextEncoder();

export function channel(wasm) {
  const memory = wasm.memory;
  const base = wasm.io();
  return {
    /** Calls `fn(length)` with `numbers` and `strings` in the channel; returns its result. */
    call(fn, numbers, strings) {
      new Float64Array(memory.buffer, base, NUMBERS).set(numbers);
      const bytes = new Uint8Array(memory.buffer, base + NUMBERS * 8, STRING_BYTES);
      let at = 0;
      for (const value of strings) {
        const s = value == null ? '' : String(value);
        const { read, written } = encoder.encodeInto(s, bytes.subarray(at, STRING_BYTES - 1));
        if (read < s.length) break;
        at += written;
        bytes[at++] = 255;
      }
      return fn(at);
    },
    /** The f64 slots, where calls write results (vital reports). */
    numbers: () => new Float64Array(memory.buffer, base, NUMBERS),
    /** The NUL-terminated text at `address`. */
    text(address) {
      const bytes = new Uint8Array(memory.buffer, address);
      return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
    },
    /** `length` bytes the wasm wrote at `address`, copied out. */
    read: (address, length) => new Uint8Array(memory.buffer, address, length).slice(),
  };
}
