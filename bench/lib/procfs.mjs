// Linux /proc readers: a process's CPU time, its children, and the TCP ports it listens on. The benchmarks use
// them to charge CPU and memory to the relay's own workerd (not wrangler's proxy in front of it, not the emulator).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** @type {number | undefined} */
let ticksPerSecond;

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux we run on). */
function clockTicks() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Fields after the `(comm)` field, which may itself contain spaces: [0] is field 3 (state). */
function statFields(/** @type {number} */ pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU time of the process, all its threads, user + system, in ms (resolution: one clock tick, 10 ms). */
export function processCpuMs(/** @type {number} */ pid) {
  const fields = statFields(pid);
  // utime and stime are fields 14 and 15 of proc(5).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
}

/** Resident memory of the process (VmRSS of /proc/<pid>/status), in KiB. */
export function processRssKb(/** @type {number} */ pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
}

/**
 * CPU time of the whole machine, all cores, busy (everything but idle and iowait) and in all, in ms: with the
 * benchmark's own processes subtracted, what the rest of the machine took meanwhile.
 */
export function machineCpuMs() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busyMs: ((total - idle) * 1000) / clockTicks(), totalMs: (total * 1000) / clockTicks() };
}

/**
 * How long the process's main thread (the event loop: workerd's isolate thread, Node's) has waited on a run
 * queue, runnable but not running, in ms (/proc/<pid>/schedstat, field 2, ns): CPU starvation, not work.
 */
export function runQueueWaitMs(/** @type {number} */ pid) {
  const fields = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/);
  return Number(fields[1]) / 1e6;
}

/** The resolution of processCpuMs. */
export function cpuTickMs() {
  return 1000 / clockTicks();
}

/** Direct children of `pid`, with their command names. */
export function childProcesses(/** @type {number} */ pid) {
  /** @type {Array<{ pid: number, comm: string }>} */
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(Number(entry))[1]) !== pid) continue;
      out.push({ pid: Number(entry), comm: readFileSync(`/proc/${entry}/comm`, 'utf8').trim() });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** TCP ports the process listens on (IPv4 and IPv6), found through its socket inodes. */
export function listeningPorts(/** @type {number} */ pid) {
  /** @type {Map<string, number>} inode → port */
  const listening = new Map();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // st 0A = LISTEN; local_address is HEX_IP:HEX_PORT; column 9 is the inode.
      if (cols[3] !== '0A' || !cols[1] || !cols[9]) continue;
      listening.set(cols[9], parseInt(cols[1].split(':')[1] ?? '', 16));
    }
  }
  /** @type {number[]} */
  const ports = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      const port = inode === undefined ? undefined : listening.get(inode);
      if (port !== undefined && !ports.includes(port)) ports.push(port);
    } catch {
      // Closed meanwhile.
    }
  }
  return ports;
}
