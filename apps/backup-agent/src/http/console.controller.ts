import { Controller, Get, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { AgentConfig } from '../config/agent-config';
import { AGENT_CONFIG } from './agent.tokens';
import {
  ASSET_NAME,
  CONSOLE_HEADERS,
  ConsoleFile,
  ConsoleFiles,
  consoleCandidates,
  loadConsoleFiles,
} from './console-files';

/**
 * The web console (apps/console) on the agent's own port: `GET /` is the page, `GET /console/<name>`
 * its script, stylesheet and icon. Same origin as the JSON routes it calls, so it works through
 * `kubectl port-forward`, and the same auth rules: reading is open, every change needs the token.
 */
@Controller()
export class ConsoleController {
  private files: ConsoleFiles | null = null;

  constructor(@Inject(AGENT_CONFIG) private readonly config: AgentConfig) {}

  @Get()
  index(@Res() reply: FastifyReply): void {
    send(reply, this.load().index);
  }

  @Get('console/:name')
  asset(@Param('name') name: string, @Res() reply: FastifyReply): void {
    const file = ASSET_NAME.test(name) ? this.load().assets.get(name) : undefined;
    if (!file) {
      throw new NotFoundException({ code: 'NOT_FOUND', message: 'the console has no such file' });
    }
    send(reply, file);
  }

  /** Read on the first request (a console built after the agent started is found then). */
  private load(): ConsoleFiles {
    this.files ??= loadConsoleFiles(consoleCandidates(this.config.consoleDir));
    if (!this.files) {
      throw new NotFoundException({
        code: 'CONSOLE_NOT_BUILT',
        message:
          this.config.consoleDir !== undefined
            ? `CONSOLE_DIR=${this.config.consoleDir} holds no index.html: point it at the built console (dist/apps/console)`
            : 'the console is not built: run "make build" (it writes dist/apps/console), then reload',
      });
    }
    return this.files;
  }
}

function send(reply: FastifyReply, file: ConsoleFile): void {
  void reply.headers(CONSOLE_HEADERS).type(file.type).send(file.body);
}
