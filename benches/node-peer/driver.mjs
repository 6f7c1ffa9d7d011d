// Calls the peer's handler in-process, like benches/benches/peer.rs calls the Rust one: PEER_WARMUP
// create+redirect pairs, then PEER_PAIRS timed pairs against LINKS_TABLE on DynamoDB Local. Prints
// one line `PEER_RESULT {json}`: CPU per pair (process.cpuUsage, i.e. getrusage(RUSAGE_SELF) of
// this process), p50/p99 per pair, peak RSS (VmHWM), the time to import the handler module with
// the SDK, and the time from process start to the first answer.
import { readFileSync } from "node:fs";

const warmup = Number(process.env.PEER_WARMUP ?? "50");
const pairs = Number(process.env.PEER_PAIRS ?? "500");
if (!(pairs >= 1) || !(warmup >= 0)) throw new Error("PEER_PAIRS >= 1 and PEER_WARMUP >= 0");

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

for (let i = 0; i < warmup; i++) await pair(i);
const latencies = [];
const cpuBefore = process.cpuUsage();
for (let i = 0; i < pairs; i++) {
  const started = process.hrtime.bigint();
  await pair(warmup + i);
  latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
}
const cpu = process.cpuUsage(cpuBefore);
latencies.sort((a, b) => a - b);

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
      pairs,
      cpu_us_per_pair: (cpu.user + cpu.system) / pairs,
      p50_ms: latencies[Math.floor(pairs / 2)],
      p99_ms: latencies[Math.floor((pairs * 99) / 100)],
      vm_hwm_kb: Number(/VmHWM:\s+(\d+)/.exec(status)[1]),
      import_ms: importMs,
      first_answer_ms: firstAnswerMs,
      cpu_cgroup: cpuCgroup ? cpuCgroup.slice(2).join(":") : null,
    }),
);
