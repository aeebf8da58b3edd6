// The scenario, in order, at desktop width: the operator makes a tenant and a key in
// the console; the tenant signs in with it, uploads a Markdown file and a PDF from the shared
// data sets, watches their jobs reach "indexed", searches, asks and opens a citation. Along the
// way a tenant key never sees operator screens nor another tenant's documents. Every screen is
// checked (axe-core) and photographed (test-results/screenshots).
import path from "node:path";
import {
  DOCS,
  apiIndexedText,
  apiTenant,
  checkScreen,
  consoleUrl,
  expect,
  mainNav,
  operatorToken,
  signIn,
  signOut,
  test,
  uniqueName,
  type TenantKey,
} from "./support";

const MARKDOWN = path.join(DOCS, "md", "duck.md");
const PDF = path.join(DOCS, "pdf", "fake-memo.pdf");
const OTHER_TENANT_TITLE = "Globex secret roadmap";

test.describe.configure({ mode: "serial" });

let tenantName = "";
let tenantKey = "";
let otherTenant: TenantKey;
let otherDocumentId = "";

test.beforeAll(async ({ request }) => {
  otherTenant = await apiTenant(request, uniqueName("globex"));
  otherDocumentId = await apiIndexedText(
    request,
    otherTenant.key,
    OTHER_TENANT_TITLE,
    "Globex plans to deliver bottles of water and laptops by drone next spring.",
  );
});

test("a wrong credential is refused with the problem's detail", async ({ page }) => {
  await page.goto(consoleUrl());
  await checkScreen(page, "sign-in", "Sign in");
  await page.getByLabel("Credential").fill("rl_not-a-real-key");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText(/./);
  await expect(page.getByRole("heading", { level: 1, name: "Sign in" })).toBeVisible();
  // The credential stays out of the address bar.
  expect(page.url()).not.toContain("rl_not-a-real-key");
});

test("the operator creates a tenant and an ingest+query key", async ({ page }) => {
  // By keyboard alone: the credential field, then Enter submits.
  await page.goto(consoleUrl());
  await page.getByLabel("Credential").focus();
  await page.keyboard.type(operatorToken());
  await page.keyboard.press("Enter");
  await expect(page.getByText("Signed in as operator")).toBeVisible();
  const nav = mainNav(page);
  for (const link of ["Tenants", "Dead letters", "Health"]) {
    await expect(nav.getByRole("link", { name: link })).toBeVisible();
  }
  for (const link of ["Documents", "Search", "Ask", "Usage", "Keys"]) {
    await expect(nav.getByRole("link", { name: link })).toHaveCount(0);
  }
  expect(page.url()).not.toContain(operatorToken());
  expect(await page.evaluate(() => localStorage.length)).toBe(0);

  await nav.getByRole("link", { name: "Tenants" }).click();
  await checkScreen(page, "tenants", "Tenants");
  tenantName = uniqueName("acme");
  await page.getByLabel("Tenant name").fill(tenantName);
  await page.getByRole("button", { name: "Create tenant" }).click();
  await page.getByRole("link", { name: tenantName }).click();
  await expect(page.getByRole("heading", { level: 1, name: tenantName })).toBeVisible();

  await page.getByLabel("Key name").fill("console e2e");
  await page.getByRole("checkbox", { name: "ingest" }).check();
  await page.getByRole("checkbox", { name: "query" }).check();
  await page.getByRole("button", { name: "Create key" }).click();
  const shown = page.getByLabel("New API key");
  await expect(shown).toHaveValue(/^rl_/);
  tenantKey = await shown.inputValue();
  await expect(page.getByRole("button", { name: "Copy" })).toBeVisible();
  await checkScreen(page, "tenant", tenantName);

  await nav.getByRole("link", { name: "Dead letters" }).click();
  await checkScreen(page, "dead-letters", "Dead letters");
  await nav.getByRole("link", { name: "Health" }).click();
  await checkScreen(page, "health", "Health");
  await signOut(page);
});

test("the tenant sees only its own screens", async ({ page }) => {
  await signIn(page, tenantKey);
  await expect(page.getByText(`Signed in as ${tenantName}`)).toBeVisible();
  const nav = mainNav(page);
  for (const link of ["Documents", "Search", "Ask", "Usage"]) {
    await expect(nav.getByRole("link", { name: link })).toBeVisible();
  }
  for (const link of ["Tenants", "Dead letters", "Health", "Keys"]) {
    await expect(nav.getByRole("link", { name: link })).toHaveCount(0);
  }
  // Typing an operator screen's address shows no operator screen.
  for (const route of ["tenants", "dead-letters", "health", `tenants/${otherTenant.tenantId}`]) {
    await page.goto(consoleUrl(route));
    await expect(page.getByText(/Signed in as/)).toBeVisible();
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    for (const heading of ["Tenants", "Dead letters", "Health", otherTenant.name]) {
      await expect(page.getByRole("heading", { level: 1, name: heading })).toHaveCount(0);
    }
    await expect(page.getByRole("button", { name: "Create tenant" })).toHaveCount(0);
  }
});

test("the tenant uploads a Markdown file and a PDF and watches them get indexed", async ({
  page,
}) => {
  await signIn(page, tenantKey);
  await mainNav(page).getByRole("link", { name: "Documents" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Documents" })).toBeVisible();
  await page.getByLabel("Upload files").setInputFiles([MARKDOWN, PDF]);
  await expect(page.getByRole("progressbar", { name: "duck.md" })).toBeVisible();
  await expect(page.getByRole("progressbar", { name: "fake-memo.pdf" })).toBeVisible();

  const documents = page.getByRole("table", { name: "Documents" });
  for (const title of ["duck.md", "fake-memo.pdf"]) {
    const row = documents.getByRole("row").filter({ hasText: title });
    await expect(row).toContainText("indexed", { timeout: 180_000 });
  }
  const jobs = page.getByRole("table", { name: "Jobs" });
  await expect(jobs.getByRole("row").filter({ hasText: "indexed" })).toHaveCount(2);
  // Another tenant's document never shows, not even by its address.
  await expect(page.getByText(OTHER_TENANT_TITLE)).toHaveCount(0);
  await checkScreen(page, "documents", "Documents");
  await page.goto(consoleUrl(`documents/${otherDocumentId}`));
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: OTHER_TENANT_TITLE })).toHaveCount(0);
  await expect(page.getByText(/drone/)).toHaveCount(0);
  await page.goto(consoleUrl("documents"));

  await documents.getByRole("link", { name: "fake-memo.pdf" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "fake-memo.pdf" })).toBeVisible();
  await expect(page.getByText(/20,000 bottles of water/)).toBeVisible();
  await expect(page.getByText(/page 1/i).first()).toBeVisible();
  await checkScreen(page, "document", "fake-memo.pdf");
});

test("the tenant searches: ranked chunks with highlighted terms, three modes side by side", async ({
  page,
}) => {
  await signIn(page, tenantKey);
  await mainNav(page).getByRole("link", { name: "Search" }).click();
  await page.getByLabel("Query").fill("bottles of water");
  await page.getByLabel("Mode", { exact: true }).selectOption("hybrid");
  await page.getByRole("button", { name: "Search" }).click();
  const results = page.getByRole("list", { name: "Results" });
  await expect(results.getByRole("listitem").first()).toContainText("bottles");
  await expect(results.locator("mark").first()).toBeVisible();
  // The other tenant's document, which matches the query as well, never comes back.
  await expect(page.getByText(OTHER_TENANT_TITLE)).toHaveCount(0);
  await checkScreen(page, "search", "Search");

  await page.getByRole("checkbox", { name: "Compare modes" }).check();
  await page.getByRole("button", { name: "Search" }).click();
  for (const mode of ["dense", "sparse", "hybrid"]) {
    await expect(
      page.getByRole("list", { name: `${mode} results` }).getByRole("listitem").first(),
    ).toBeVisible();
  }
  await checkScreen(page, "search-compare", "Search");
});

test("the tenant asks, gets a cited answer and opens a citation", async ({ page }) => {
  await signIn(page, tenantKey);
  await mainNav(page).getByRole("link", { name: "Ask" }).click();
  await page.getByLabel("Question").fill("How many laptops were delivered?");
  await page.getByRole("button", { name: "Ask" }).click();
  const answer = page.getByRole("region", { name: "Answer" });
  await expect(answer).toContainText(/\w+/);
  const citation = page.getByRole("link", { name: "Citation 1" });
  await expect(citation).toBeVisible();
  await checkScreen(page, "ask", "Ask");

  await citation.click();
  const dialog = page.getByRole("dialog", { name: "Cited chunk" });
  await expect(dialog).toBeVisible();
  await expect(dialog).not.toContainText(OTHER_TENANT_TITLE);
  await checkScreen(page, "ask-citation", "Ask");
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);

  // A follow-up keeps the conversation.
  await page.getByLabel("Question").fill("And how many trucks?");
  await page.getByRole("button", { name: "Ask" }).click();
  await expect(page.getByText("How many laptops were delivered?")).toBeVisible();
  await expect(page.getByText("And how many trucks?")).toBeVisible();
});

test("the tenant's usage shows charts and a table", async ({ page }) => {
  await signIn(page, tenantKey);
  await mainNav(page).getByRole("link", { name: "Usage" }).click();
  await expect(page.getByRole("table", { name: "Usage by day" })).toBeVisible();
  await expect(page.getByLabel("From")).toBeVisible();
  await expect(page.getByLabel("To")).toBeVisible();
  await checkScreen(page, "usage", "Usage");
});
