// Headless Chromium for the browser tests: Debian's `chromium` (or PORTICO_CHROMIUM),
// driven by playwright-core from NODE_PATH.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

export function launch() {
  return chromium.launch({
    executablePath: process.env.PORTICO_CHROMIUM || "/usr/bin/chromium",
    // As root in a sandbox; and no calls to Google's services on a closed network.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
