// Browser tests of the console against a real `ragline run --target all` (e2e/global-setup.ts),
// driving the machine's Chromium: no browser download (CI installs Debian's, see
// deploy/local/install-tools.sh). `make test` runs them only where that Chromium exists.
import { defineConfig } from "@playwright/test";

const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "./e2e",
  globalSetup: "./e2e/global-setup.ts",
  // One server shared by every test, and two cores: the scenario runs in order, one at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  // Indexing a PDF with the default embedder on a busy two-core machine takes a while.
  timeout: 240_000,
  expect: { timeout: 60_000 },
  reporter: [["list"]],
  outputDir: "test-results/artifacts",
  use: {
    launchOptions: {
      executablePath: chromium,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    { name: "desktop", use: { viewport: { width: 1280, height: 800 } } },
    {
      name: "mobile",
      testMatch: /screens\.spec\.ts/,
      use: { viewport: { width: 375, height: 740 }, hasTouch: true },
    },
  ],
});
