// Starts one real `ragline run --target all` for the whole browser suite (embedded mode: SQLite
// catalog, in-process broker, local vectors and the default embedder, in a temporary data
// directory) and stops it after. The tests find it through RAGLINE_E2E_URL and the operator
// token through RAGLINE_E2E_OPERATOR_TOKEN (Playwright hands global setup's environment on).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const consoleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repo = path.resolve(consoleDir, "..");
const READY_TIMEOUT_MS = 300_000;
const STOP_TIMEOUT_MS = 30_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, server: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(`ragline run exited with ${server.exitCode}; see ${log}`);
    }
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`ragline run not ready in ${READY_TIMEOUT_MS / 1000} s; see ${log}`);
}

function stop(server: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (server.exitCode !== null || server.signalCode !== null) {
      resolve();
      return;
    }
    const killer = setTimeout(() => server.kill("SIGKILL"), STOP_TIMEOUT_MS);
    server.once("exit", () => {
      clearTimeout(killer);
      resolve();
    });
    server.kill("SIGTERM");
  });
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const ragline = path.join(repo, ".venv", "bin", "ragline");
  const dist = path.join(consoleDir, "dist");
  if (!existsSync(ragline)) throw new Error(`${ragline} missing: run make install`);
  if (!existsSync(path.join(dist, "index.html"))) {
    throw new Error(`${dist} missing: run make console`);
  }

  const dataDir = mkdtempSync(path.join(tmpdir(), "ragline-console-e2e-"));
  const results = path.join(consoleDir, "test-results");
  mkdirSync(results, { recursive: true });
  const log = path.join(results, "ragline.log");
  const [port, metricsPort] = [await freePort(), await freePort()];
  const token = randomBytes(24).toString("hex");
  const url = `http://127.0.0.1:${port}`;

  // None of the caller's RAGLINE_* settings: embedded mode and the default embedder, whatever
  // the shell exports (a hash embedder or a RabbitMQ broker would test another product).
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("RAGLINE_")),
  );
  const server = spawn(ragline, ["run", "--target", "all"], {
    cwd: dataDir,
    env: {
      ...inherited,
      HF_HUB_OFFLINE: "1",
      TRANSFORMERS_OFFLINE: "1",
      RAGLINE_DATA_DIR: path.join(dataDir, "data"),
      RAGLINE_ADMIN_TOKEN: token,
      RAGLINE_HOST: "127.0.0.1",
      RAGLINE_PORT: String(port),
      RAGLINE_METRICS_HOST: "127.0.0.1",
      RAGLINE_METRICS_PORT: String(metricsPort),
      RAGLINE_GATEWAY_CONSOLE_DIST: dist,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = createWriteStream(log);
  server.stdout?.pipe(output);
  server.stderr?.pipe(output);
  try {
    await waitReady(url, server, log);
  } catch (error) {
    await stop(server);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  process.env.RAGLINE_E2E_URL = url;
  process.env.RAGLINE_E2E_OPERATOR_TOKEN = token;

  return async () => {
    await stop(server);
    rmSync(dataDir, { recursive: true, force: true });
  };
}
