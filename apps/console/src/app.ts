/**
 * The console: reads the agent every few seconds, keeps the restore flow's state, and draws each
 * part of the page from that state. Requests that change something go through `authorized`, which
 * asks for the token when the agent answers 401 and tries again with it.
 */
import { AgentClient, ApiError } from './api';
import { h, mount } from './dom';
import { formatBytes, formatDuration, formatRows } from './format';
import { HealthView, healthFromParts, healthFromReport } from './health';
import {
  ApiErrorBody,
  DrillSummary,
  parseBackupTaken,
  parseDrills,
  parsePoints,
  parseRanges,
  parseRestoreAnswer,
  RestorableRange,
  rangesFromPoints,
  RestorePoint,
  BackupTaken,
} from './model';
import {
  IDLE,
  instantMs,
  instantTarget,
  isBusy,
  nextRestoreState,
  RestoreEvent,
  RestoreState,
  restorePath,
  targetOf,
} from './restore-flow';
import { chooseWindow, clockOffset, layoutTimeline, WINDOW_PRESETS, WindowPreset } from './timeline';
import type { TokenPrompt } from './token-prompt';
import { renderHealthCards, renderStatusLine } from './view-health';
import { renderPointsTable } from './view-points';
import { renderError, renderRestore } from './view-restore';
import { renderDrills } from './view-drills';
import { renderLegend, renderTimeline } from './view-timeline';

export interface Elements {
  readonly status: HTMLElement;
  readonly health: HTMLElement;
  readonly timeline: HTMLElement;
  readonly legend: HTMLElement;
  readonly points: HTMLElement;
  readonly restore: HTMLElement;
  readonly drills: HTMLElement;
  readonly backupButton: HTMLButtonElement;
  readonly backupStatus: HTMLElement;
  readonly windowSelect: HTMLSelectElement;
  readonly forgetToken: HTMLButtonElement;
}

type BackupState =
  | { readonly step: 'idle' }
  | { readonly step: 'running'; readonly startedAt: number }
  | { readonly step: 'done'; readonly taken: BackupTaken }
  | { readonly step: 'failed'; readonly error: ApiErrorBody };

const REFRESH_MS = 5000;
const DRILLS_EVERY = 6; // refreshes

export class ConsoleApp {
  private points: RestorePoint[] = [];
  private ranges: RestorableRange[] = [];
  private health: HealthView | null = null;
  private drills: DrillSummary[] | null = [];
  private loadError: string | null = null;
  private clockOffset = 0;
  private preset: WindowPreset = 'all';
  private flow: RestoreState = IDLE;
  private backup: BackupState = { step: 'idle' };
  private instantError: string | null = null;
  /** Routes this agent does not have (404 once): not asked again. */
  private readonly missing = new Set<string>();
  private refreshes = 0;
  private refreshing: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private backupTicker: number | null = null;
  /** The token dialog is open (a request waits for it). */
  private prompting = false;

  constructor(
    private readonly client: AgentClient,
    private readonly el: Elements,
    private readonly prompt: TokenPrompt,
  ) {
    for (const p of WINDOW_PRESETS) el.windowSelect.append(h('option', { value: p.value }, p.label));
    el.windowSelect.value = this.preset;
    el.windowSelect.addEventListener('change', () => {
      this.preset = el.windowSelect.value as WindowPreset;
      this.renderPoints();
    });
    el.backupButton.addEventListener('click', () => void this.backupNow());
    el.forgetToken.addEventListener('click', () => {
      client.tokens.clear();
      this.renderTokenButton();
      this.say('The token is forgotten: it will be asked for again when needed.');
    });
  }

  start(): void {
    this.renderAll();
    void this.refresh();
    window.setInterval(() => {
      if (!document.hidden) void this.refresh();
    }, REFRESH_MS);
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) void this.refresh();
    });
  }

  /** The agent's clock, as far as its Date headers tell. */
  private now(): number {
    return Date.now() + this.clockOffset;
  }

  /**
   * Reads the agent again. The timer's refresh is skipped while one runs; after an action
   * (`afterChange`), one more starts when the running one is done, so the page never keeps a state
   * read before the change.
   */
  refresh(afterChange = false): Promise<void> {
    if (this.refreshing && afterChange) {
      this.queued ??= this.refreshing.then(() => {
        this.queued = null;
        return this.refresh();
      });
      return this.queued;
    }
    this.refreshing ??= this.load().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async optional(path: string): Promise<{ json: unknown } | null> {
    if (this.missing.has(path)) return null;
    const answer = await this.client.get(path, { optional: true });
    if (!answer) this.missing.add(path);
    return answer;
  }

  private async load(): Promise<void> {
    try {
      const backups = await this.client.get('/backups');
      if (!backups) return;
      const points = parsePoints(backups.json, backups.date ?? backups.receivedAt);
      this.clockOffset = clockOffset(backups.receivedAt, backups.date, points[0]?.createdAt ?? null);
      const now = this.now();
      this.points = parsePoints(backups.json, now);
      const chains = await this.optional('/chains');
      this.ranges = chains ? parseRanges(chains.json, now) : rangesFromPoints(this.points);
      const report = await this.optional('/health/backups');
      if (report) {
        this.health = healthFromReport(report.json);
      } else {
        let ready: unknown = null;
        let readyError: string | null = null;
        try {
          ready = (await this.client.get('/ready'))?.json ?? null;
        } catch (err) {
          readyError = err instanceof ApiError ? err.message : String(err);
        }
        this.health = healthFromParts({ ready, readyError, points: this.points, ranges: this.ranges, now });
      }
      if (this.refreshes++ % DRILLS_EVERY === 0) {
        const drills = await this.optional('/drills');
        this.drills = drills ? parseDrills(drills.json) : null;
      }
      this.loadError = null;
    } catch (err) {
      this.loadError = err instanceof ApiError ? err.message : String(err);
    }
    this.renderAll();
  }

  // --- actions ------------------------------------------------------------------------------

  /** Runs a request that needs the token; on 401 asks for it (once per refusal) and retries. */
  private async authorized<T>(request: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await request();
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 401) throw err;
        this.client.tokens.clear();
        this.renderTokenButton();
        this.prompting = true;
        this.renderBackup();
        const given = await this.prompt.ask(err.message).finally(() => (this.prompting = false));
        this.renderTokenButton();
        if (!given) throw err;
      }
    }
  }

  private errorBody(err: unknown): ApiErrorBody {
    return err instanceof ApiError
      ? err.body
      : { statusCode: 0, code: 'CONSOLE_ERROR', message: String((err as Error)?.message ?? err) };
  }

  private async backupNow(): Promise<void> {
    if (this.backup.step === 'running') return;
    this.backup = { step: 'running', startedAt: Date.now() };
    this.renderBackup();
    this.backupTicker = window.setInterval(() => this.renderBackup(), 250);
    try {
      const answer = await this.authorized(() => this.client.post('/backups'));
      this.backup = { step: 'done', taken: parseBackupTaken(answer.json) };
    } catch (err) {
      this.backup = { step: 'failed', error: this.errorBody(err) };
    } finally {
      if (this.backupTicker !== null) window.clearInterval(this.backupTicker);
      this.backupTicker = null;
    }
    this.renderBackup();
    await this.refresh(true);
  }

  /** Moves the restore flow on; false when the event did not fit the state (nothing to do). */
  private dispatch(event: RestoreEvent): boolean {
    const before = this.flow;
    this.flow = nextRestoreState(this.flow, event);
    if (this.flow === before) return false;
    this.renderRestoreFlow();
    this.renderPoints();
    // After a step, the focus follows: to "Dry run" once a point is chosen (it changes nothing),
    // else to the step's heading, so the outcome is read first and a second Enter does nothing.
    if (this.flow.step === 'chosen') {
      this.el.restore
        .querySelector<HTMLButtonElement>('[data-key="dry-run"]')
        ?.focus({ preventScroll: true });
    } else if (!isBusy(this.flow) && this.flow.step !== 'idle') {
      this.el.restore.querySelector<HTMLElement>('h3')?.focus({ preventScroll: true });
    }
    return true;
  }

  private async dryRun(): Promise<void> {
    if (!this.dispatch({ type: 'dry-run' }) || this.flow.step !== 'checking') return;
    const target = this.flow.target;
    try {
      const answer = await this.authorized(() => this.client.post(restorePath(target, true)));
      this.dispatch({ type: 'dry-run-done', answer: parseRestoreAnswer(answer.json) });
    } catch (err) {
      this.dispatch({ type: 'failed', error: this.errorBody(err) });
    }
  }

  private async confirm(): Promise<void> {
    if (!this.dispatch({ type: 'confirm' }) || this.flow.step !== 'restoring') return;
    const target = this.flow.target;
    try {
      const answer = await this.authorized(() => this.client.post(restorePath(target, false)));
      this.dispatch({ type: 'restore-done', answer: parseRestoreAnswer(answer.json) });
    } catch (err) {
      this.dispatch({ type: 'failed', error: this.errorBody(err) });
    }
    await this.refresh(true);
  }

  private async undo(): Promise<void> {
    if (!this.dispatch({ type: 'undo' }) || this.flow.step !== 'undoing') return;
    const snapshot = this.flow.result.safetySnapshot as string;
    try {
      const answer = await this.authorized(() =>
        this.client.post(restorePath({ kind: 'point', id: snapshot }, false)),
      );
      this.dispatch({ type: 'undo-done', answer: parseRestoreAnswer(answer.json) });
    } catch (err) {
      this.dispatch({ type: 'failed', error: this.errorBody(err) });
    }
    await this.refresh(true);
  }

  private chooseInstant(text: string): void {
    const target = instantTarget(text);
    if (typeof target === 'string') {
      this.instantError = target;
      this.renderRestoreFlow();
      return;
    }
    this.instantError = null;
    this.dispatch({ type: 'choose', target });
  }

  private say(text: string): void {
    mount(this.el.backupStatus, h('span', {}, text));
  }

  // --- rendering ----------------------------------------------------------------------------

  private renderAll(): void {
    mount(this.el.status, renderStatusLine(this.health, this.loadError));
    mount(this.el.health, renderHealthCards(this.health));
    this.renderPoints();
    this.renderRestoreFlow();
    mount(this.el.drills, renderDrills(this.drills, this.now()));
    this.renderTokenButton();
  }

  private renderTokenButton(): void {
    this.el.forgetToken.hidden = this.client.tokens.get() === null;
  }

  private renderPoints(): void {
    const now = this.now();
    const window = chooseWindow(this.preset, this.points, this.ranges, now);
    const layout = layoutTimeline({
      points: this.points,
      ranges: this.ranges,
      now,
      objectiveMs: this.health?.freshness.objectiveMs ?? 60_000,
      window,
      width: 1000,
    });
    const target = targetOf(this.flow);
    const selectedId = target?.kind === 'point' ? target.id : null;
    const choosePoint = (p: RestorePoint) => {
      this.instantError = null;
      this.dispatch({ type: 'choose', target: { kind: 'point', id: p.id } });
    };
    mount(
      this.el.timeline,
      renderTimeline(
        layout,
        now,
        selectedId,
        { choosePoint, chooseInstant: (at) => this.chooseInstant(at) },
        target?.kind === 'instant' ? instantMs(target.at) : null,
      ),
    );
    mount(
      this.el.legend,
      renderLegend(
        this.ranges.length > 0,
        layout.lanes.some((l) => l.key === 'offsite'),
      ),
    );
    const visible = this.points.filter((p) => p.createdAt >= window.start);
    mount(
      this.el.points,
      renderPointsTable(visible, layout.hiddenBefore, now, selectedId, choosePoint, () => {
        this.preset = 'all';
        this.el.windowSelect.value = 'all';
        this.renderPoints();
      }),
    );
  }

  private renderRestoreFlow(): void {
    mount(
      this.el.restore,
      renderRestore(
        this.flow,
        this.points,
        this.ranges,
        this.now(),
        {
          dryRun: () => void this.dryRun(),
          confirm: () => void this.confirm(),
          cancel: () => this.dispatch({ type: 'cancel' }),
          undo: () => void this.undo(),
          chooseInstant: (text) => this.chooseInstant(text),
          chooseLatest: () => this.dispatch({ type: 'choose', target: { kind: 'latest' } }),
        },
        this.instantError,
      ),
    );
  }

  private renderBackup(): void {
    const b = this.backup;
    this.el.backupButton.disabled = b.step === 'running';
    this.el.backupButton.textContent = b.step === 'running' ? 'Backing up…' : 'Back up now';
    if (b.step === 'idle') return mount(this.el.backupStatus);
    if (b.step === 'running') {
      return mount(
        this.el.backupStatus,
        h('progress', { 'aria-label': 'Backup in progress' }),
        h(
          'span',
          {},
          this.prompting
            ? ' waiting for the token'
            : ` taking a backup: ${formatDuration(Date.now() - b.startedAt)}`,
        ),
      );
    }
    if (b.step === 'failed') return mount(this.el.backupStatus, renderError(b.error, 'The backup failed'));
    const t = b.taken;
    mount(
      this.el.backupStatus,
      h(
        'p',
        { class: 'success' },
        h('strong', {}, `${t.id} taken`),
        `: ${formatRows(t.rows)}, ${formatBytes(t.size)}, in ${formatDuration(t.durationMs)}, ${t.verified ? 'verified' : 'NOT verified'}.`,
      ),
    );
  }
}
