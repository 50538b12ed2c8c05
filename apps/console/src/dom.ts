/**
 * The console's whole rendering toolkit: `h` builds an HTML element, `s` an SVG one, `mount`
 * replaces a container's content and gives the focus back to the element that had it. No inline
 * style and no HTML strings: text is always set as text, so nothing the agent answers can become
 * markup, and the Content-Security-Policy can forbid inline scripts and styles.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type Handler = (event: Event) => void;
export type Props = Record<string, string | number | boolean | Handler | null | undefined>;

function apply(el: Element, props: Props | undefined): void {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') {
      el.addEventListener(key.replace(/^on/, '').toLowerCase(), value);
    } else if (key === 'class') {
      el.setAttribute('class', String(value));
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function append(el: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, props);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  props?: Props,
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag) as SVGElementTagNameMap[K];
  apply(el, props);
  append(el, children);
  return el;
}

/**
 * Replaces the content of `container`. Elements are found again by their `data-key`: the one that
 * had the focus gets it back, and a field keeps what was typed in it (and where the caret was), so
 * a refresh every few seconds never throws a keyboard user back to the top of the page nor wipes
 * what they were writing.
 */
export function mount(container: Element, ...children: Child[]): void {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.getAttribute('data-key') : null;
  const typed = new Map<string, { value: string; start: number | null; end: number | null }>();
  for (const field of Array.from(container.querySelectorAll<HTMLInputElement>('input[data-key]'))) {
    typed.set(field.getAttribute('data-key') as string, {
      value: field.value,
      start: field.selectionStart,
      end: field.selectionEnd,
    });
  }
  container.replaceChildren();
  append(container, children);
  for (const [fieldKey, was] of typed) {
    const field = container.querySelector<HTMLInputElement>(`input[data-key="${CSS.escape(fieldKey)}"]`);
    if (field && field.value === '') field.value = was.value;
    if (field && fieldKey === key && was.start !== null) field.setSelectionRange(was.start, was.end);
  }
  if (key) {
    const again = container.querySelector<HTMLElement | SVGElement>(`[data-key="${CSS.escape(key)}"]`);
    again?.focus();
  }
}
