/** Injection token of the parsed ApiConfig. */
export const API_CONFIG = Symbol('API_CONFIG');
/** Injection token of the clock (`() => Date`), replaceable in tests. */
export const CLOCK = Symbol('CLOCK');
export type Clock = () => Date;
