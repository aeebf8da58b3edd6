/**
 * The credential lives in sessionStorage only: gone when the tab closes, never in a URL, a
 * cookie or localStorage, and never logged.
 */
const KEY = "ragline.credential";

export function storedCredential(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeCredential(credential: string): void {
  sessionStorage.setItem(KEY, credential);
}

export function forgetCredential(): void {
  sessionStorage.removeItem(KEY);
}
