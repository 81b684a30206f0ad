// The developer portal in headless Chromium: /docs (Swagger UI over /openapi.json) lists
// the demo's todo routes, and its "try it" form creates a todo. Run by
// tests/e2e/portal.rs:
//   node tests/browser/docs.mjs BASE_URL SCREENSHOT_DIR TITLE
// with NODE_PATH holding playwright-core and PORTICO_CHROMIUM the browser. Prints the
// created todo's JSON on its last line and exits 0; otherwise prints why and exits 1.
import path from "node:path";
import { launch } from "./launch.mjs";

const [base, shots, title] = process.argv.slice(2);
if (!base || !shots || !title) {
  console.error("usage: docs.mjs BASE_URL SCREENSHOT_DIR TITLE");
  process.exit(2);
}

const browser = await launch();
const failures = [];
let created = null;
const page = await browser.newPage();
try {
  page.on("pageerror", (e) => failures.push(`page error: ${e.message}`));
  const response = await page.goto(new URL("/docs", base).href);
  if (!response || response.status() !== 200) {
    throw new Error(`GET /docs answered ${response && response.status()}`);
  }
  // Every todo route is listed.
  const post = page.locator("#operations-todo-post_todos");
  await post.waitFor({ timeout: 15000 });
  for (const id of ["get_todos", "get_todos_id", "patch_todos_id", "delete_todos_id"]) {
    await page.locator(`#operations-todo-${id}`).waitFor({ timeout: 5000 });
  }
  await page.screenshot({ path: path.join(shots, "docs.png"), fullPage: true });
  // Try it: POST /todos with a body, executed from the page.
  await post.locator(".opblock-summary").click();
  // The portal turns "try it out" on for every operation; switch it on if it is not.
  const toggle = post.locator("button.try-out__btn");
  if ((await toggle.innerText()).trim() === "Try it out") await toggle.click();
  const body = post.locator("textarea.body-param__text");
  await body.fill(JSON.stringify({ title }));
  await post.locator("button.execute").click();
  const status = post.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 15000 });
  const code = (await status.innerText()).trim();
  if (code !== "201") failures.push(`try it: POST /todos answered ${code}`);
  const answer = (await post.locator(".live-responses-table .response-col_description pre").first().innerText()).trim();
  created = JSON.parse(answer);
  await page.screenshot({ path: path.join(shots, "docs-try-it.png"), fullPage: true });
} catch (e) {
  failures.push(String(e && e.stack ? e.stack : e));
  await page.screenshot({ path: path.join(shots, "docs-failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
if (failures.length > 0) {
  for (const f of failures) console.error(f);
  process.exit(1);
}
console.log(JSON.stringify(created));
