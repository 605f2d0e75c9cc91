// Fails when src/lib/api/schema.d.ts is not what api/openapi.yaml generates (run `npm run api:generate`).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const out = join(mkdtempSync(join(tmpdir(), "api-types-")), "schema.d.ts");
execFileSync("npx", ["openapi-typescript", "../api/openapi.yaml", "-o", out], { stdio: "ignore" });
if (readFileSync(out, "utf8") !== readFileSync("src/lib/api/schema.d.ts", "utf8")) {
  console.error("web: src/lib/api/schema.d.ts is stale: api/openapi.yaml changed. Run `npm run api:generate` in web/.");
  process.exit(1);
}
console.log("web: API types match api/openapi.yaml");
