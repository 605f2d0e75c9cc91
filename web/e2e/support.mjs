// Shared by the end-to-end tests: the browser (Debian's Chromium through playwright-core), the
// stack's addresses (set by scripts/e2e.sh), artifacts (screenshots, measurements) and a few
// API helpers for set-up that is not what a test is about.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite with scripts/e2e.sh`);
  return v;
}

export const baseUrl = required("E2E_BASE_URL");
export const apiUrl = required("E2E_API_URL");
export const artifacts = required("E2E_ARTIFACTS");
export const admin = {
  email: required("E2E_ADMIN_EMAIL"),
  password: readFileSync(required("E2E_ADMIN_PASSWORD_FILE"), "utf8").trim(),
};
mkdirSync(artifacts, { recursive: true });

// As root on a machine without a network, Chromium needs these (see the machine's notes): no
// sandbox, and no background connections that the closed network refuses many at a time.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export async function launch() {
  return chromium.launch({ executablePath: process.env.E2E_CHROMIUM ?? "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
}

// A fresh context (no cookies) with a desktop viewport; the default timeout is generous
// because the machine is small and shared (two cores for the service, the model server and
// the browser).
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: baseUrl, ...options });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  return { context, page };
}

export async function screenshot(page, name) {
  const dir = join(artifacts, "screenshots");
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

// Measurements go into one JSON file, merged by key, for docs/benchmarks.md.
export function record(key, value) {
  const file = join(artifacts, "metrics.json");
  const all = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  all[key] = value;
  writeFileSync(file, JSON.stringify(all, null, 2) + "\n");
}

export const uniqueEmail = (tag) => `${tag}-${randomUUID().slice(0, 8)}@e2e.libromind.test`;
export const PASSWORD = "a long e2e passphrase";

// Registration through the storefront's own page, which signs the new account in.
export async function registerAndSignIn(page, email, password = PASSWORD) {
  await page.goto("/register");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("signed-in-as").waitFor();
}

export async function signIn(page, email, password = PASSWORD) {
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").waitFor();
}

// Waits until the header's cart badge reads `n`.
export async function cartBadge(page, n) {
  await page.waitForFunction((want) => document.querySelector('[data-testid="cart-count"]')?.textContent?.trim() === want, String(n));
}

// Straight to the service (not through the browser), for checks of the stored state.
export async function apiGet(path, token) {
  const res = await fetch(apiUrl + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function apiToken(email, password) {
  const res = await fetch(apiUrl + "/api/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
