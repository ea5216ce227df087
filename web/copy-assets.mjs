// Copy the built browser files (and their licences) that the service serves into the Python
// package, one folder per package and version, so a URL names one file content forever
// (they are served with an immutable cache header). Writes assets.json: name -> path.
// Run by `make vendor-web` after `npm ci`; the output is committed (ADR: vendored assets).
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "src", "intelgraph", "web", "static", "vendor");

// asset name -> [npm package, file inside it]
const ASSETS = {
  "graphiql.js": ["graphiql", "graphiql.min.js"],
  "graphiql.css": ["graphiql", "graphiql.min.css"],
  "react.js": ["react", "umd/react.production.min.js"],
  "react-dom.js": ["react-dom", "umd/react-dom.production.min.js"],
};

function versionOf(pkg) {
  const manifest = JSON.parse(readFileSync(join(here, "node_modules", pkg, "package.json"), "utf8"));
  return manifest.version;
}

rmSync(target, { recursive: true, force: true });
const manifest = {};
for (const [name, [pkg, file]] of Object.entries(ASSETS)) {
  const folder = `${pkg}-${versionOf(pkg)}`;
  const base = file.split("/").pop();
  mkdirSync(join(target, folder), { recursive: true });
  copyFileSync(join(here, "node_modules", pkg, file), join(target, folder, base));
  copyFileSync(join(here, "node_modules", pkg, "LICENSE"), join(target, folder, "LICENSE"));
  manifest[name] = `vendor/${folder}/${base}`;
}
writeFileSync(join(target, "assets.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`copied ${Object.keys(manifest).length} assets to ${target}`);
