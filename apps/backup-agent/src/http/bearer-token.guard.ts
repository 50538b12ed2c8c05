import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AgentConfig } from '../config/agent-config';
import { AGENT_CONFIG } from './agent.tokens';

/**
 * Destructive routes require `Authorization: Bearer <BACKUP_TOKEN>` when a token is configured.
 * The comparison is constant-time (on digests, so the length of the token does not leak either).
 */
@Injectable()
export class BearerTokenGuard implements CanActivate {
  private readonly expected: Buffer | null;

  constructor(@Inject(AGENT_CONFIG) config: AgentConfig) {
    this.expected = config.token ? digest(config.token) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const http = context.switchToHttp();
    const header = http.getRequest<FastifyRequest>().headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match && timingSafeEqual(digest(match[1]), this.expected)) return true;
    void http.getResponse<FastifyReply>().header('WWW-Authenticate', 'Bearer realm="pra-kit backup agent"');
    throw new UnauthorizedException({
      code: 'UNAUTHORIZED',
      message: match ? 'invalid bearer token' : 'this route requires "Authorization: Bearer <BACKUP_TOKEN>"',
    });
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
