// The operator console in headless Chromium: with the admin token it lists the
// functions, a rollback from its button changes the live version, and after a short load
// the route charts have data. Run by tests/e2e/console.rs:
//   node tests/browser/console.mjs ADMIN_URL SCREENSHOT_DIR TOKEN FUNCTION VERSION MODULE
// (deploy the component file MODULE as FUNCTION from the page's upload form, then roll
// FUNCTION back to VERSION, its live version before). Exits 0 when all of it was seen;
// else prints why.
import path from "node:path";
import { launch } from "./launch.mjs";

const [admin, shots, token, fn, version, module] = process.argv.slice(2);
if (!admin || !shots || !token || !fn || !version || !module) {
  console.error("usage: console.mjs ADMIN_URL SCREENSHOT_DIR TOKEN FUNCTION VERSION MODULE");
  process.exit(2);
}
const browser = await launch();
const failures = [];
const page = await browser.newPage();
try {
  page.on("pageerror", (e) => failures.push(`page error: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) failures.push(`${r.request().method()} ${r.url()} answered ${r.status()}`);
  });
  page.on("console", (m) => {
    if (m.type() === "error") failures.push(`console error: ${m.text()}`);
  });
  const response = await page.goto(new URL("/console", admin).href);
  if (!response || response.status() !== 200) {
    throw new Error(`GET /console answered ${response && response.status()}`);
  }
  await page.fill("#token", token);
  await page.click("#connect");
  await page.locator('#status[data-state="open"]').waitFor({ timeout: 10000 });
  const row = page.locator(`#functions tr[data-function="${fn}"]`);
  await row.waitFor({ timeout: 10000 });
  for (const name of ["todo", "hello", "chat"]) {
    await page.locator(`#functions tr[data-function="${name}"]`).waitFor({ timeout: 5000 });
  }
  // Deploy from the page's upload form: the old version gets a rollback button.
  await page.selectOption("#deploy-function", fn);
  await page.setInputFiles("#deploy-module", module);
  await page.click('#deploy button[type="submit"]');
  await page.locator("#status", { hasText: `${fn}: deployed version` }).waitFor({ timeout: 15000 });
  // Roll back from the page.
  await row.locator(`button.rollback[data-version="${version}"]`).click();
  await page.locator(`#functions tr[data-function="${fn}"] td.live[data-live="${version}"]`).waitFor({ timeout: 10000 });
  await page.locator("#audit tbody tr", { hasText: "rollback" }).first().waitFor({ timeout: 10000 });
  // The charts: the test sends load; wait for a route with requests and a drawn line.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll("#routes tbody tr")];
    // A chart of at least three samples with requests in them.
    return rows.some((r) => {
      const chart = r.querySelector("svg.spark");
      return Number(r.children[1].textContent) > 0 && chart && Number(chart.dataset.points) >= 3 && Number(chart.dataset.max) > 0;
    });
  }, null, { timeout: 20000 });
  // The recent requests, with their request ids.
  await page.locator("#requests tbody tr", { hasText: "GET /todos" }).first().waitFor({ timeout: 10000 });
  await page.screenshot({ path: path.join(shots, "console.png"), fullPage: true });
} catch (e) {
  failures.push(String(e && e.stack ? e.stack : e));
  await page.screenshot({ path: path.join(shots, "console-failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
if (failures.length > 0) {
  for (const f of failures) console.error(f);
  process.exit(1);
}
