// Runs MicroPython's webassembly port (32-bit: 4-byte pointers, 16-byte GC blocks) one
// command at a time for bench/_heap32/job.py.
//
//   node --expose-gc driver.mjs CONFIG_JSON
//   CONFIG_JSON: {"mjs": micropython.mjs, "wasm": the growth-stopped micropython.wasm,
//                 "heap_kb": n, "romfs": image path or null, "files": {path: host path},
//                 "harness": the module whose functions "call" commands call}
// "files" are copied into the port's in-memory filesystem (Emscripten MEMFS: outside the
// GC heap, like a board's flash). A ROMFS image is handed to the port itself
// (loadMicroPython's romfs option): it lives outside the GC heap, mounted at /rom, so
// its bytecode runs in place as on a board with a ROMFS partition.
// Then each stdin line is a JSON command: {"py": code} (compiled and run; the reply's out
// is the Python global _out) or {"call": name, "args": [...], "until": name2} (the
// function config.harness.name called with args, then, with until, asyncio given turns
// until name2() returns a non-empty str), {"feed": hex} (see feed()) or {"advance": ms,
// "step_ms": n} (see advance()). The reply on stdout is one JSON line:
// {"ok": true, "out": str} or {"ok": false, "error": what failed}. Between commands control is back
// in JS: that is when this port collects garbage, and Node's own GC frees the proxies.
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";

// The job's time is the firmware's stepped clock, never real time: the port's asyncio
// turns (sleep_ms(0), JS setTimeout) need not wait Node's 1 ms timer minimum.
const timers = new Map();
let nextTimer = 1;
globalThis.setTimeout = (fn, _ms, ...args) => {
  const id = nextTimer++;
  timers.set(id, setImmediate(() => { timers.delete(id); fn(...args); }));
  return id;
};
globalThis.clearTimeout = (id) => {
  const immediate = timers.get(id);
  if (immediate !== undefined) clearImmediate(immediate);
  timers.delete(id);
};

const config = JSON.parse(process.argv[2]);
const { loadMicroPython } = await import(config.mjs);
const stderr = (line) => process.stderr.write(line + "\n");
const romfs = config.romfs ? new Uint8Array(fs.readFileSync(config.romfs)) : undefined;
const mp = await loadMicroPython({
  heapsize: config.heap_kb * 1024,
  url: config.wasm,
  romfs,
  stdout: stderr, // stdout is this driver's reply channel
  stderr,
  linebuffer: true,
});
for (const [target, source] of Object.entries(config.files || {})) {
  mp.FS.mkdirTree(path.posix.dirname(target));
  mp.FS.writeFile(target, fs.readFileSync(source));
}

function lastLine(err) {
  const lines = String(err && err.message ? err.message : err).trim().split("\n");
  return lines[lines.length - 1];
}

// A MemoryError is caught in Python: the port collects garbage only back in JS, so
// the heap is still full when the exception reaches C, and formatting its traceback
// there fails outside any handler (nlr_jump_fail: the port spins forever).
const OOM = "<MemoryError>";
const guarded = (code) =>
  "try:\n" + code.split("\n").map((l) => "    " + l).join("\n") +
  "\nexcept MemoryError:\n    _out = " + JSON.stringify(OOM) + "\n";

const reply = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const turn = () => new Promise((resolve) => setImmediate(resolve));
let harness = null; // the Python module config.harness, once a command imported it

// A harness function returns a str; one starting with "!" says what failed (it caught
// the exception itself, for the reason above).
function called(out) {
  const text = out === null || out === undefined ? "" : String(out);
  return text.startsWith("!") ? { ok: false, error: text.slice(1) } : { ok: true, out: text };
}

// {"feed": hex}: a request's bytes written into the harness's rx buffer (in the port's memory,
// as a UART driver writes a board's), len(rx) at a time, each piece handed to harness.feed(n);
// a response is a memoryview of the firmware's buffer, copied out of the port's memory here.
function bufferOf(proxy) {
  const module = mp._module;
  const data = module._malloc(8);
  module.ccall("proxy_c_to_js_get_type_and_data", "number", ["number", "pointer"], [proxy._ref, data]);
  const view = { size: module.getValue(data, "i32"), addr: module.getValue(data + 4, "i32") };
  module._free(data);
  return view;
}

function feed(hex) {
  const bytes = Buffer.from(hex, "hex");
  const rx = bufferOf(harness.rx);
  let out = "";
  for (let pos = 0; pos < bytes.length; pos += rx.size) {
    const piece = bytes.subarray(pos, pos + rx.size);
    mp._module.HEAPU8.set(piece, rx.addr);
    const got = harness.feed(piece.length);
    if (typeof got === "string") return got; // "!what failed"
    if (got !== null && got !== undefined) out = Buffer.from(mp.PyProxy.toJs(got)).toString("hex");
  }
  return out;
}

// {"advance": ms, "step_ms": n}: the firmware's clock stepped n ms at a time (harness.advance),
// asyncio given turns until harness.advanced() says each step is done. Control comes back
// here between steps, so the port collects garbage at least once a step.
async function advance(ms, stepMs) {
  for (let left = ms; left > 0; left -= stepMs) {
    let got = harness.advance(Math.min(left, stepMs));
    while (called(got).ok && (got = harness.advanced()) === "") await turn();
    const result = called(got);
    if (!result.ok) return result;
  }
  return { ok: true, out: "ok" };
}

const input = readline.createInterface({ input: process.stdin });
for await (const line of input) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line);
  try {
    if (cmd.py !== undefined) {
      // compiled here, in the heap: only for the imports at boot
      mp.globals.set("_out", null);
      mp.runPython(guarded(cmd.py));
      const out = mp.globals.get("_out");
      if (out === OOM) reply({ ok: false, error: "MemoryError (caught in Python)" });
      else reply({ ok: true, out: out === null || out === undefined ? null : String(out) });
    } else if (cmd.advance !== undefined) {
      harness = harness || mp.pyimport(config.harness);
      reply(await advance(cmd.advance, cmd.step_ms));
    } else if (cmd.feed !== undefined) {
      harness = harness || mp.pyimport(config.harness);
      reply(called(feed(cmd.feed)));
    } else {
      // a harness function called straight from JS: nothing to compile
      harness = harness || mp.pyimport(config.harness);
      let got = harness[cmd.call](...(cmd.args || []));
      // {"call": ..., "until": name}: then let the port's asyncio run until name() says
      while (cmd.until !== undefined && called(got).ok && (got = harness[cmd.until]()) === "") {
        await turn();
      }
      reply(called(got));
    }
  } catch (err) {
    reply({ ok: false, error: lastLine(err) });
  }
  if (global.gc) global.gc(); // frees JS proxies of Python objects, so the port can too
  await turn();
}
