// Calls the peer's handler in-process, like benches/benches/peer.rs calls the Rust one, and follows
// the same plan (see peer.rs's module docs): the first PEER_FIRST create+redirect pairs, then
// windows of PEER_WINDOW pairs until two consecutive windows' CPU per pair agree within 5 % (at
// most PEER_MAX_WINDOWS), then PEER_PAIRS timed pairs; with PEER_JOIN (a cgroup.procs file) it
// moves itself there before the timed pairs. Prints one line `PEER_RESULT {json}`: CPU per pair
// (process.cpuUsage, i.e. getrusage(RUSAGE_SELF) of this process) and p50/p99 per pair for the
// first and the steady phase, the warm-up windows, peak RSS (VmHWM), the time to import the handler
// module with the SDK, and the time from process start to the first answer.
import { readFileSync, writeFileSync } from "node:fs";

const number = (name) => {
  const value = Number(process.env[name]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number`);
  return value;
};
const first = number("PEER_FIRST");
const window = number("PEER_WINDOW");
const maxWindows = number("PEER_MAX_WINDOWS");
const pairs = number("PEER_PAIRS");
const TOLERANCE = 0.05; // as in peer.rs

const importStart = performance.now();
const { handler } = await import("./handler.mjs");
const importMs = performance.now() - importStart;

const event = (method, path, body) => ({
  version: "2.0",
  routeKey: "$default",
  rawPath: path,
  rawQueryString: "",
  headers: { "content-type": "application/json", host: "sho.rt" },
  requestContext: { http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1" } },
  body,
  isBase64Encoded: false,
});

let firstAnswerMs = null;
async function pair(i) {
  const url = `https://example.com/node-peer/${process.pid}/${i}/${Math.random().toString(36).slice(2)}`;
  const created = await handler(event("POST", "/", JSON.stringify({ url })));
  // performance.now() counts from the process's start (its time origin).
  firstAnswerMs ??= performance.now();
  if (created.statusCode !== 201) throw new Error(`create answered ${created.statusCode}: ${created.body}`);
  const { code } = JSON.parse(created.body);
  const redirected = await handler(event("GET", `/${code}`));
  if (redirected.statusCode !== 308 || redirected.headers.location !== url) {
    throw new Error(`redirect of ${code} answered ${redirected.statusCode} ${redirected.headers.location}`);
  }
}

async function phase(from, count) {
  const latencies = [];
  const cpuBefore = process.cpuUsage();
  for (let i = from; i < from + count; i++) {
    const started = process.hrtime.bigint();
    await pair(i);
    latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.floor((count * q) / 100)] ?? null;
  return {
    pairs: count,
    cpu_us_per_pair: (cpu.user + cpu.system) / Math.max(count, 1),
    p50_ms: at(50),
    p99_ms: at(99),
  };
}

const settled = (a, b) => Math.min(a, b) > 0 && Math.max(a, b) - Math.min(a, b) <= TOLERANCE * Math.min(a, b);
const isStable = (w) => w.length >= 2 && settled(w[w.length - 2], w[w.length - 1]);

const firstPhase = await phase(0, first);
let next = first;
const windows = [];
while (windows.length < maxWindows && !isStable(windows)) {
  windows.push((await phase(next, window)).cpu_us_per_pair);
  next += window;
}
if (process.env.PEER_JOIN) writeFileSync(process.env.PEER_JOIN, String(process.pid));
const steady = pairs > 0 ? await phase(next, pairs) : null;

const status = readFileSync("/proc/self/status", "utf8");
const cgroup = readFileSync("/proc/self/cgroup", "utf8");
const cpuCgroup = cgroup
  .split("\n")
  .map((line) => line.split(":"))
  .find((parts) => parts.length >= 3 && parts[1].split(",").includes("cpu"));
console.log(
  "PEER_RESULT " +
    JSON.stringify({
      runtime: `node ${process.version}`,
      first: firstPhase,
      warmup_windows: windows,
      stable: isStable(windows),
      steady,
      vm_hwm_kb: Number(/VmHWM:\s+(\d+)/.exec(status)[1]),
      import_ms: importMs,
      first_answer_ms: firstAnswerMs,
      cpu_cgroup: cpuCgroup ? cpuCgroup.slice(2).join(":") : null,
    }),
);
