/** Form state a page keeps in the browser between visits. */

/** The object saved under ``key``, or ``{}`` when there is none, it is corrupt, or storage is unavailable. */
export function loadStored<T extends object>(key: string): Partial<T> {
  try {
    const saved: unknown = JSON.parse(window.localStorage.getItem(key) ?? '{}');
    return saved && typeof saved === 'object' ? (saved as Partial<T>) : {};
  } catch {
    return {};
  }
}

/** Save ``value`` under ``key``; a full or disabled storage is not an error (the form just starts empty next time). */
export function saveStored(key: string, value: unknown): void {
  try {
    window.localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or disabled */
  }
}
