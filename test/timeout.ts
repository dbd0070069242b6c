// Preloaded by bunfig.toml: the suite's per-test timeout for a bare `bun test`
// (Bun 1.4 reads none from bunfig). It overrides `bun test --timeout`; a test
// that needs longer passes its own timeout.

import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(30_000);
