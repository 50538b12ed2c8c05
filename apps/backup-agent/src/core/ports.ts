/** What the core needs from the outside world, passed in through constructors. */

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface Logger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { log: () => undefined, warn: () => undefined, error: () => undefined };
