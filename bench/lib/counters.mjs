// A server's /proc counters sampled through a run, so that they can be read
// for exactly the interval the client measured.
import { sample } from './servers.mjs';

/** Microseconds on the monotonic clock (the clock of V8's CPU profiles too). */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** Converts a wall-clock time in milliseconds since the epoch to monotonicUs. */
export function epochMsToMonotonicUs(ms) {
  return ms * 1000 - (Date.now() * 1000 - monotonicUs());
}

export class CounterLog {
  constructor(pid, intervalMs = 50) {
    this.pid = pid;
    this.points = [];
    this.take();
    this.timer = setInterval(() => this.take(), intervalMs);
  }

  take() {
    const c = sample(this.pid);
    if (Number.isFinite(c.cpu)) this.points.push({ t: monotonicUs(), ...c });
  }

  stop() {
    this.take();
    clearInterval(this.timer);
  }

  /** The counters at time t, interpolated between the samples around it. */
  at(t) {
    const p = this.points;
    let i = p.findIndex((x) => x.t >= t);
    if (i === -1) return p.at(-1);
    if (i === 0) return p[0];
    const a = p[i - 1];
    const b = p[i];
    const k = b.t === a.t ? 1 : (t - a.t) / (b.t - a.t);
    const mix = (key) => a[key] + k * (b[key] - a[key]);
    return { t, cpu: mix('cpu'), user: mix('user'), sys: mix('sys'), minflt: mix('minflt'), readBytes: mix('readBytes') };
  }

  /** The change of every counter from t0 to t1. */
  between(t0, t1) {
    const a = this.at(t0);
    const b = this.at(t1);
    return {
      seconds: (t1 - t0) / 1e6, cpu: b.cpu - a.cpu, user: b.user - a.user, sys: b.sys - a.sys,
      minflt: b.minflt - a.minflt, readBytes: b.readBytes - a.readBytes,
    };
  }
}
