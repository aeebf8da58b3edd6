// What every browser test shares: the server global-setup.ts started, a page that fails the test
// on any CSP refusal or uncaught error, the per-screen checks (axe-core, 375 px fit, a
// screenshot) and API shortcuts for the state a test needs but does not exercise.
import path from "node:path";
import { fileURLToPath } from "node:url";
import AxeBuilder from "@axe-core/playwright";
import { expect, test as base, type APIRequestContext, type Page } from "@playwright/test";

const consoleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const SCREENSHOTS = path.join(consoleDir, "test-results", "screenshots");
/** The shared data sets, beside the repository (`../shared/data` from its root). */
export const DOCS = path.resolve(consoleDir, "..", "..", "shared", "data", "docs");

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} unset: global-setup.ts did not run`);
  return value;
}

export const serverUrl = (): string => required("RAGLINE_E2E_URL");
export const operatorToken = (): string => required("RAGLINE_E2E_OPERATOR_TOKEN");
const CSP_REFUSAL = /Refused to|Content Security Policy/;

export const consoleUrl = (route = ""): string => `${serverUrl()}/console/${route}`;

/** The page, watched: a CSP refusal or an uncaught error anywhere in the test fails it, whatever
 * the test itself checked. Chromium words a refusal "Refused to load/execute/apply ..." up to
 * about version 150 and "... violates the following Content Security Policy directive ..."
 * since (Debian's 156 does): both count. */
export const test = base.extend({
  page: async ({ page }, use) => {
    const problems: string[] = [];
    page.on("console", (message) => {
      if (CSP_REFUSAL.test(message.text())) problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
    await use(page);
    expect(problems, "CSP refusals or uncaught errors in the page").toEqual([]);
  },
});
export { expect };

/** One screen, checked once it shows its heading: no axe-core violations, no horizontal
 * scrolling (the 375 px project), and a full-page screenshot named after the project. The
 * first two are soft: the test goes on to the next screens and reports every finding at once. */
export async function checkScreen(
  page: Page,
  name: string,
  heading: string | RegExp,
): Promise<void> {
  await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
  await expect(page.getByRole("main")).toBeVisible();
  const results = await new AxeBuilder({ page }).analyze();
  const violations = results.violations.map((violation) => {
    const where = violation.nodes.map((node) => node.target.join(" ")).join("; ");
    return `${violation.id}: ${violation.help} (${where})`;
  });
  expect.soft(violations, `axe-core violations on ${name}`).toEqual([]);
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect.soft(overflow, `${name} scrolls sideways`).toBeLessThanOrEqual(0);
  await screenshot(page, name);
}

/** A full-page screenshot in test-results/screenshots, named `<project>-<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const file = path.join(SCREENSHOTS, `${test.info().project.name}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

export async function signIn(page: Page, credential: string): Promise<void> {
  await page.goto(consoleUrl());
  await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
  await page.getByLabel("Credential").fill(credential);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(/Signed in as/)).toBeVisible();
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
}

export function mainNav(page: Page) {
  return page.getByRole("navigation", { name: "Main" });
}

const bearer = (credential: string) => ({ Authorization: `Bearer ${credential}` });

export interface TenantKey {
  tenantId: string;
  name: string;
  key: string;
}

/** A tenant and an ingest+query key of it, made through the API (not the screens under test). */
export async function apiTenant(request: APIRequestContext, name: string): Promise<TenantKey> {
  const tenant = await request.post(`${serverUrl()}/v1/tenants`, {
    headers: bearer(operatorToken()),
    data: { name },
  });
  expect(tenant.status(), await tenant.text()).toBe(201);
  const tenantId = (await tenant.json()).id as string;
  const key = await request.post(`${serverUrl()}/v1/tenants/${tenantId}/keys`, {
    headers: bearer(operatorToken()),
    data: { name: "e2e", scopes: ["ingest", "query"] },
  });
  expect(key.status(), await key.text()).toBe(201);
  return { tenantId, name, key: (await key.json()).key as string };
}

/** A text document uploaded through the API, waited for until indexed. */
export async function apiIndexedText(
  request: APIRequestContext,
  key: string,
  title: string,
  text: string,
): Promise<string> {
  const upload = await request.post(`${serverUrl()}/v1/documents`, {
    headers: bearer(key),
    data: { title, text },
  });
  expect(upload.status(), await upload.text()).toBe(202);
  const { job_id: jobId, document_id: documentId } = await upload.json();
  const status = async (): Promise<string> => {
    const job = await request.get(`${serverUrl()}/v1/jobs/${jobId}`, { headers: bearer(key) });
    return (await job.json()).status as string;
  };
  await expect.poll(status, { timeout: 120_000 }).toBe("indexed");
  return documentId as string;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}`;
}
