// Two headless Chromium tabs on the chat page (examples/chat-page) talk to each other
// through the chat WebSocket API. Run by tests/e2e/browser.rs:
//   node tests/browser/chat.mjs BASE_URL SCREENSHOT_DIR
// with NODE_PATH holding playwright-core and PORTICO_CHROMIUM the browser. Exits 0 when
// each tab saw the other's message; otherwise prints why and exits 1.
import path from "node:path";
import { launch } from "./launch.mjs";

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error("usage: chat.mjs BASE_URL SCREENSHOT_DIR");
  process.exit(2);
}

const browser = await launch();
const failures = [];
try {
  const context = await browser.newContext();
  const tabs = [];
  for (const name of ["ada", "grace"]) {
    const page = await context.newPage();
    page.on("pageerror", (e) => failures.push(`${name}: page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") failures.push(`${name}: console error: ${m.text()}`);
    });
    const response = await page.goto(new URL("/chat", base).href);
    if (!response || response.status() !== 200) {
      throw new Error(`${name}: GET /chat answered ${response && response.status()}`);
    }
    await page.locator('#status[data-state="open"]').waitFor({ timeout: 10000 });
    await page.fill("#name", name);
    await page.fill("#room", "browsers");
    await page.click("#join");
    await page.locator("#log li.note", { hasText: "you joined browsers" }).waitFor({ timeout: 10000 });
    tabs.push({ name, page });
  }
  const [ada, grace] = tabs;
  await ada.page.fill("#text", "hello from ada");
  await ada.page.click("#send");
  await grace.page.locator("#log li.message", { hasText: "hello from ada" }).waitFor({ timeout: 10000 });
  await grace.page.fill("#text", "hi ada, grace here");
  await grace.page.click("#send");
  await ada.page.locator("#log li.message", { hasText: "hi ada, grace here" }).waitFor({ timeout: 10000 });
  // Each sees who said what, its own lines included.
  for (const { name, page } of tabs) {
    const lines = await page.locator("#log li.message").allTextContents();
    const want = ["#browsersadahello from ada", "#browsersgracehi ada, grace here"];
    if (JSON.stringify(lines) !== JSON.stringify(want)) {
      failures.push(`${name} shows ${JSON.stringify(lines)}, not ${JSON.stringify(want)}`);
    }
    await page.screenshot({ path: path.join(shots, `chat-${name}.png`), fullPage: true });
  }
} catch (e) {
  failures.push(String(e && e.stack || e));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("two tabs exchanged messages");
