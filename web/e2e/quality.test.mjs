// The main pages, looked at as a whole: a screenshot of each (an artifact of the run), an
// axe-core accessibility scan (no serious or critical violation), and the measurements that
// docs/benchmarks.md records: largest contentful paint of the home and book pages, and the
// JavaScript the book page ships. Measurements are written to metrics.json, never asserted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { AxeBuilder } from "@axe-core/playwright";
import { launch, newPage, screenshot, record, median, signIn, admin, registerAndSignIn, uniqueEmail } from "./support.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const PUBLIC_PAGES = [
  ["home", "/"],
  ["search-results", "/search?q=pirates+and+buried+treasure"],
  ["book-detail", "/books/pg-84"],
  ["ask-form", "/ask"],
  ["cart-empty", "/cart"],
  ["login-form", "/login"],
  ["register-form", "/register"],
];

async function scan(page, name) {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  return {
    name,
    violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help })),
    bad: bad.map((v) => `${name}: ${v.id} (${v.impact}, ${v.nodes.length} nodes): ${v.help}: ${v.nodes.slice(0, 2).map((n) => n.target.join(" ")).join("; ")}`),
  };
}

test("every main page has no serious or critical accessibility violation (axe-core), with a screenshot of each", async () => {
  const reports = [];
  const { context, page } = await newPage(browser);
  try {
    for (const [name, path] of PUBLIC_PAGES) {
      await page.goto(path, { waitUntil: "networkidle" });
      await screenshot(page, `page-${name}`);
      reports.push(await scan(page, name));
    }
    // The signed-in pages: orders, checkout, and the admin's.
    await registerAndSignIn(page, uniqueEmail("a11y"));
    for (const [name, path] of [["orders", "/orders"], ["checkout", "/checkout"]]) {
      await page.goto(path, { waitUntil: "networkidle" });
      await screenshot(page, `page-${name}`);
      reports.push(await scan(page, name));
    }
  } finally {
    await context.close();
  }
  const adminView = await newPage(browser);
  try {
    await signIn(adminView.page, admin.email, admin.password);
    for (const [name, path] of [["admin", "/admin"], ["admin-imports", "/admin/imports"], ["admin-jobs", "/admin/jobs"], ["admin-feedback", "/admin/feedback"]]) {
      await adminView.page.goto(path, { waitUntil: "networkidle" });
      await screenshot(adminView.page, `page-${name}`);
      reports.push(await scan(adminView.page, name));
    }
  } finally {
    await adminView.context.close();
  }
  record("axe", reports.map(({ name, violations }) => ({ page: name, violations })));
  const bad = reports.flatMap((r) => r.bad);
  assert.deepEqual(bad, [], bad.join("\n"));
});

// Largest contentful paint of a cold load (a new context: no cache), as Chromium reports it.
async function lcp(path) {
  const { context, page } = await newPage(browser);
  try {
    await page.addInitScript(() => {
      window.__lcp = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__lcp = e.startTime;
      }).observe({ type: "largest-contentful-paint", buffered: true });
    });
    await page.goto(path, { waitUntil: "networkidle" });
    // LCP is final at the first input; a click on the page's blank margin ends it without navigating.
    await page.mouse.click(2, 2);
    return await page.evaluate(() => window.__lcp);
  } finally {
    await context.close();
  }
}

test("measure: largest contentful paint of the home and book pages (median of 5 cold loads)", async () => {
  const out = {};
  for (const [name, path] of [["home", "/"], ["book", "/books/pg-84"]]) {
    await lcp(path); // one warm-up load: the server's first render of a route compiles nothing, but fills its caches
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await lcp(path));
    out[name] = { median_ms: Math.round(median(runs)), runs_ms: runs.map(Math.round) };
    assert.ok(runs.every((ms) => ms > 0), `${name}: Chromium reported a largest contentful paint`);
  }
  record("lcp", out);
});

test("measure: JavaScript shipped for the book page (gzipped, as the browser downloads it)", async () => {
  const { context, page } = await newPage(browser);
  try {
    const scripts = new Set();
    page.on("response", (r) => {
      if (r.request().resourceType() === "script") scripts.add(r.url());
    });
    await page.goto("/books/pg-84", { waitUntil: "networkidle" });
    let raw = 0;
    let gzipped = 0;
    const files = [];
    for (const url of scripts) {
      const body = Buffer.from(await (await fetch(url)).arrayBuffer());
      const gz = gzipSync(body).length;
      raw += body.length;
      gzipped += gz;
      files.push({ file: new URL(url).pathname, bytes: body.length, gzipped: gz });
    }
    assert.ok(scripts.size > 0, "the page loads its scripts");
    record("book_page_js", { files: files.length, bytes: raw, gzipped_bytes: gzipped, gzipped_kb: Math.round(gzipped / 102.4) / 10, detail: files });
  } finally {
    await context.close();
  }
});
