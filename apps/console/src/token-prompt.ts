import type { TokenStore } from './api';

/**
 * Asks for the bearer token when the agent first refuses a request with 401, in a modal dialog
 * (Escape cancels). The token goes to sessionStorage, and the field is emptied as soon as the
 * dialog closes: it stays nowhere else in the page.
 */
export class TokenPrompt {
  private pending: ((ok: boolean) => void) | null = null;

  constructor(
    private readonly dialog: HTMLDialogElement,
    private readonly input: HTMLInputElement,
    private readonly reason: HTMLElement,
    private readonly tokens: TokenStore,
  ) {
    dialog.addEventListener('close', () => {
      const value = input.value.trim();
      input.value = '';
      const ok = dialog.returnValue === 'ok' && value !== '';
      if (ok) tokens.set(value);
      const resolve = this.pending;
      this.pending = null;
      resolve?.(ok);
    });
  }

  /** Resolves true once a token was given, false when the dialog was cancelled. */
  ask(why: string): Promise<boolean> {
    if (this.pending) return Promise.resolve(false);
    this.reason.textContent = why;
    this.dialog.returnValue = '';
    return new Promise((resolve) => {
      this.pending = resolve;
      this.dialog.showModal();
      this.input.focus();
    });
  }
}
