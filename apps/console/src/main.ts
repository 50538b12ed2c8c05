import { AgentClient, sessionTokenStore } from './api';
import { ConsoleApp } from './app';
import { TokenPrompt } from './token-prompt';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const tokens = sessionTokenStore(window.sessionStorage);
const client = new AgentClient(window.fetch.bind(window), tokens);
const prompt = new TokenPrompt(
  byId<HTMLDialogElement>('token-dialog'),
  byId<HTMLInputElement>('token-input'),
  byId('token-reason'),
  tokens,
);

new ConsoleApp(
  client,
  {
    status: byId('status'),
    health: byId('health-body'),
    timeline: byId('timeline-body'),
    legend: byId('legend'),
    points: byId('points-body'),
    restore: byId('restore-body'),
    drills: byId('drills-body'),
    backupButton: byId<HTMLButtonElement>('backup-now'),
    backupStatus: byId('backup-status'),
    windowSelect: byId<HTMLSelectElement>('window'),
    forgetToken: byId<HTMLButtonElement>('forget-token'),
  },
  prompt,
).start();
