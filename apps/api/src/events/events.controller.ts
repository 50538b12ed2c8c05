import { Body, Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import { API_CONFIG } from '../app/api.tokens';
import type { ApiConfig } from '../config/api-config';
import { EventRepository, StoredEvent } from './event.repository';
import { parseBefore, parseLimit, parseMessage } from './event-input';

interface AddedResponse {
  readonly status: 'added';
  readonly id: number;
  readonly timestamp: string;
  readonly message: string;
}

/** The workshop's routes: /add, /count, /consultation, plus POST /messages. */
@Controller()
export class EventsController {
  constructor(
    private readonly events: EventRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  /** Answers only after the row is committed (see EventRepository). */
  @Get('add')
  async add(@Query('message') message: unknown): Promise<AddedResponse> {
    return added(await this.events.add(parseMessage(message, this.config.maxMessageLength, 'query')));
  }

  @Post('messages')
  @HttpCode(201)
  async post(@Body() body: unknown): Promise<AddedResponse> {
    const message =
      body && typeof body === 'object' ? (body as Record<string, unknown>)['message'] : undefined;
    return added(await this.events.add(parseMessage(message, this.config.maxMessageLength, 'body')));
  }

  @Get('count')
  count(): { count: number } {
    return { count: this.events.count() };
  }

  /** Newest first; `?before=<id>` pages back (the drill reads every event it wrote this way). */
  @Get('consultation')
  consultation(@Query('limit') limit: unknown, @Query('before') before: unknown): StoredEvent[] {
    return this.events.latest(parseLimit(limit), parseBefore(before));
  }
}

function added(event: StoredEvent): AddedResponse {
  return { status: 'added', id: event.id, timestamp: event.timestamp, message: event.message };
}
