// A clock that runs faster than real time, then catches up with it: preloaded
// (NODE_OPTIONS=--require) into every process of a replication history generated faster than real
// time (the agent, the writer that stamps the transactions, the S3 server), so that they all live
// in the same accelerated time. See bench/README.md, "Replication".
//
// BENCH_FAST_CLOCK="<lead ms>,<speed>,<start file>": the clock reads `lead` ms behind the real one
// until the start (the bench writes the real start instant, in ms, to <start file>, then sends
// SIGWINCH (ignored by default, unused by Nest and Node) to the processes already running; a process started later reads the file at start), then
// runs `speed` times faster than real time until it has caught up with the real clock (after
// lead / (speed - 1) real ms); from then on it is the real clock. A history of D ms generated at
// `speed` from the start therefore ends, dated exactly D ms after it began, at the real present:
// lead = D * (1 - 1 / speed). Every process reads the same start, so they share one timeline.
//
// What runs faster: the wall clock (Date, Date.now()), the monotonic clock (performance.now()) and
// the timers (setTimeout, setInterval, timers/promises), so a process's polls, flush deadlines and
// upload intervals keep their proportions to the commit times. Only the speed of time changes: the
// CPU and the disk still do the work at their own speed (a process that cannot keep up falls behind
// in accelerated time, as it would under a heavier load).
'use strict';

const fs = require('node:fs');

const spec = process.env.BENCH_FAST_CLOCK;

/** The clock's offset from the real one (ms) at the real instant `realMs`: from -lead up to 0. */
function clockFrom(text) {
  const [leadText, speedText, startFile] = text.split(',');
  const [lead, speed] = [Number(leadText), Number(speedText)];
  if (!Number.isFinite(lead) || lead < 0 || !(speed > 1) || !startFile) {
    throw new Error(`BENCH_FAST_CLOCK must be "<lead ms>,<speed > 1>,<start file>", not "${text}"`);
  }
  const catchUpMs = lead / (speed - 1);
  let start = Infinity; // not started: the clock runs at real speed, `lead` behind
  const elapsed = (realMs) => Math.min(Math.max(realMs - start, 0), catchUpMs);
  return {
    /** Reads the start instant from the file, if it was written. */
    readStart() {
      try {
        const value = Number(fs.readFileSync(startFile, 'utf8'));
        if (Number.isFinite(value) && value > 0) start = value;
      } catch {
        // not started yet
      }
    },
    lead,
    speed,
    catchUpMs,
    offset: (realMs) => -lead + (speed - 1) * elapsed(realMs),
    /** Real ms until `ms` of this clock have passed, from the real instant `realMs`. */
    realDelay(ms, realMs) {
      if (!(ms > 0) || realMs < start) return ms; // (not started: real speed)
      const fastLeft = catchUpMs - elapsed(realMs); // real ms of accelerated time left
      return ms <= fastLeft * speed ? ms / speed : fastLeft + (ms - fastLeft * speed);
    },
  };
}

function install(clock) {
  const RealDate = Date;
  const realNow = RealDate.now;
  const now = () => realNow() + clock.offset(realNow());

  function FastDate(...args) {
    if (!new.target) return new RealDate(now()).toString();
    return args.length === 0 ? new RealDate(now()) : new RealDate(...args);
  }
  FastDate.prototype = RealDate.prototype; // instanceof Date holds for both
  FastDate.now = now;
  FastDate.parse = RealDate.parse;
  FastDate.UTC = RealDate.UTC;
  globalThis.Date = FastDate;

  const { performance } = require('node:perf_hooks');
  const realPerfNow = performance.now.bind(performance);
  const perfNow = () => realPerfNow() + clock.offset(realNow()) + clock.lead;
  performance.now = perfNow;
  if (globalThis.performance && globalThis.performance !== performance) globalThis.performance.now = perfNow;

  const timers = require('node:timers');
  const delay = (ms) => clock.realDelay(Number(ms), realNow());
  for (const name of ['setTimeout', 'setInterval']) {
    const real = timers[name];
    const fast = (fn, ms, ...args) => real(fn, delay(ms), ...args);
    timers[name] = fast;
    globalThis[name] = fast;
  }
  const promises = require('node:timers/promises');
  const realSleep = promises.setTimeout;
  promises.setTimeout = (ms, value, options) => realSleep(delay(ms), value, options);

  // An HTTP server's Date header comes from Node's own clock, which the above does not reach; the
  // AWS SDK corrects its signing clock by it, and s3rver refuses requests whose time differs from
  // its own by more than 15 minutes: the header must tell this clock too.
  const http = require('node:http');
  const writeHead = http.ServerResponse.prototype.writeHead;
  http.ServerResponse.prototype.writeHead = function (...args) {
    if (this.sendDate && !this.headersSent && !this.hasHeader('date'))
      this.setHeader('date', new RealDate(now()).toUTCString());
    return writeHead.apply(this, args);
  };
}

if (spec) {
  const clock = clockFrom(spec);
  clock.readStart();
  process.on('SIGWINCH', () => clock.readStart());
  install(clock);
}

module.exports = { clockFrom };
