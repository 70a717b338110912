// vitest globalSetup: starts auth-mock-server on a free port before the tests, exports the
// variables it prints (AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, ..., the demo pool's ids)
// to the test workers, and stops it afterwards.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export default async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "cognito-mock-"));
  const readyFile = join(dir, "ready.json");
  const binary = process.env.AUTH_MOCK_SERVER_BINARY ?? "auth-mock-server";
  const server = spawn(binary, ["--port", "0", "--ready-file", readyFile], { stdio: "ignore" });
  let exited = null;
  server.on("exit", (code) => (exited = code ?? "a signal"));
  server.on("error", (error) => (exited = error.message));
  for (let i = 0; !existsSync(readyFile); i++) {
    if (exited !== null) throw new Error(`auth-mock-server exited: ${exited}`);
    if (i === 300) throw new Error("auth-mock-server did not start within 30 s");
    await sleep(100);
  }
  const ready = JSON.parse(readFileSync(readyFile, "utf8"));
  // Test workers start after globalSetup and inherit these.
  Object.assign(process.env, ready.environment);
  return () => {
    server.kill("SIGINT");
    rmSync(dir, { recursive: true, force: true });
  };
}
