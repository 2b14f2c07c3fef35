// Loads the SDK's wasm: compiled while it downloads where the server sends it as
// application/wasm, else from its bytes. The module imports nothing and exports plain
// functions of numbers (rum-sdk/src/bindings.rs), so no generated glue is needed.
export async function loadWasm(url) {
  const response = fetch(url);
  let result;
  try {
    result = await WebAssembly.instantiateStreaming(response, {});
  } catch {
    // A wrong Content-Type fails the streaming compile before the body is read.
    result = await WebAssembly.instantiate(await (await response).arrayBuffer(), {});
  }
  return result.instance.exports;
}
