// Build the operator page into dist/: CesiumJS's prebuilt bundle (with its offline
// Natural Earth II imagery) from node_modules, plus our own files from src/.
// Plain Node, no bundler: `npm run build` (the Makefile's `make web` runs it).
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const cesium = join(here, "node_modules", "cesium", "Build", "Cesium");
const dist = join(here, "dist");

if (!existsSync(join(cesium, "Cesium.js"))) {
  console.error(`build: ${cesium}/Cesium.js missing: run \`npm ci\` in web/ first`);
  process.exit(1);
}
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
cpSync(cesium, join(dist, "cesium"), { recursive: true });
for (const name of readdirSync(join(here, "src"))) {
  cpSync(join(here, "src", name), join(dist, name), { recursive: true });
}
const pkg = JSON.parse(
  (await import("node:fs")).readFileSync(join(here, "node_modules", "cesium", "package.json"), "utf8"),
);
writeFileSync(join(dist, "build.json"), JSON.stringify({ cesium: pkg.version }) + "\n");
console.log(`build: dist/ with CesiumJS ${pkg.version}`);
