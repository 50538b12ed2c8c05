/** Injection token of the parsed AgentConfig. */
export const AGENT_CONFIG = Symbol('AGENT_CONFIG');
