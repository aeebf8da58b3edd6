// Every screen at this project's width (375 px and desktop): it shows its heading, axe-core
// finds no violation, nothing scrolls sideways, and a screenshot is kept. The state comes from
// the API, so this file does not depend on the tour (tour.spec.ts) having run.
import {
  apiIndexedText,
  apiTenant,
  checkScreen,
  consoleUrl,
  expect,
  mainNav,
  operatorToken,
  signIn,
  test,
  uniqueName,
  type TenantKey,
} from "./support";

test.describe.configure({ mode: "serial" });

let tenant: TenantKey;
let documentId = "";

test.beforeAll(async ({ request }) => {
  tenant = await apiTenant(request, uniqueName("screens"));
  documentId = await apiIndexedText(
    request,
    tenant.key,
    "Refund policy",
    "# Refunds\n\nRefunds are paid within fourteen days of a return.",
  );
});

test("operator screens", async ({ page }) => {
  await page.goto(consoleUrl());
  await checkScreen(page, "screens-sign-in", "Sign in");
  await signIn(page, operatorToken());
  const nav = mainNav(page);
  await nav.getByRole("link", { name: "Tenants" }).click();
  await checkScreen(page, "screens-tenants", "Tenants");
  await page.getByRole("link", { name: tenant.name }).click();
  await checkScreen(page, "screens-tenant", tenant.name);

  await page.getByRole("button", { name: "Delete tenant" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete tenant" });
  await expect(dialog.getByRole("button", { name: "Delete" })).toBeDisabled();
  await dialog.getByLabel("Type the tenant name to confirm").fill("not the name");
  await expect(dialog.getByRole("button", { name: "Delete" })).toBeDisabled();
  await page.keyboard.press("Escape");

  await nav.getByRole("link", { name: "Dead letters" }).click();
  await checkScreen(page, "screens-dead-letters", "Dead letters");
  await nav.getByRole("link", { name: "Health" }).click();
  await checkScreen(page, "screens-health", "Health");
});

test("tenant screens", async ({ page }) => {
  await signIn(page, tenant.key);
  const nav = mainNav(page);
  await nav.getByRole("link", { name: "Documents" }).click();
  await expect(page.getByRole("table", { name: "Documents" })).toContainText("Refund policy");
  await checkScreen(page, "screens-documents", "Documents");
  await page.goto(consoleUrl(`documents/${documentId}`));
  await expect(page.getByText(/fourteen days/)).toBeVisible();
  await checkScreen(page, "screens-document", "Refund policy");

  await mainNav(page).getByRole("link", { name: "Search" }).click();
  await checkScreen(page, "screens-search", "Search");
  await mainNav(page).getByRole("link", { name: "Ask" }).click();
  await checkScreen(page, "screens-ask", "Ask");
  await mainNav(page).getByRole("link", { name: "Usage" }).click();
  await checkScreen(page, "screens-usage", "Usage");
});
