// build.mjs: builds the dashboard (content-hashed bundles + index.html) and the compiled tests.
//   node build.mjs --dashboard DIR   DIR/index.html, DIR/assets/main-HASH.{js,css}
//   node build.mjs --tests DIR       DIR/*.test.mjs, runnable with `node --test`
// CMake runs it (portal/CMakeLists.txt) so that `make build` produces both.
import * as esbuild from "esbuild";
import { mkdir, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (!v || v.startsWith("--")) throw new Error(`${name} needs a directory`);
  return path.resolve(v);
}

async function buildDashboard(out) {
  // Old bundles go: the folder holds exactly what index.html names.
  await rm(out, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: [path.join(here, "dashboard/main.tsx")],
    outdir: path.join(out, "assets"),
    entryNames: "[name]-[hash]",
    bundle: true,
    minify: true,
    sourcemap: "linked",
    target: ["es2020"],
    jsx: "automatic",
    metafile: true,
    logLevel: "warning",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.relative(out, path.resolve(f)));
  const js = outputs.find((f) => f.endsWith(".js"));
  const css = outputs.find((f) => f.endsWith(".css"));
  if (!js || !css) throw new Error(`the dashboard bundle is missing its js or css: ${outputs.join(", ")}`);
  const template = await readFile(path.join(here, "dashboard/index.html"), "utf8");
  const html = template.replace("{{CSS}}", `/${css}`).replace("{{JS}}", `/${js}`);
  await writeFile(path.join(out, "index.html"), html);
}

async function buildTests(out) {
  await rm(out, { recursive: true, force: true });
  const entries = [];
  for (const f of await readdir(path.join(here, "test")))
    if (f.endsWith(".test.ts")) entries.push(path.join(here, "test", f));
  await esbuild.build({
    entryPoints: entries,
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: ["node18"],
    packages: "external",
    sourcemap: "inline",
    logLevel: "warning",
  });
  // The compiled tests import ws and playwright-core: resolve them from the portal's node_modules.
  await mkdir(out, { recursive: true });
  await symlink(path.join(here, "node_modules"), path.join(out, "node_modules"), "dir");
}

const dashboard = arg("--dashboard");
const tests = arg("--tests");
if (!dashboard && !tests) {
  console.error("usage: node build.mjs [--dashboard DIR] [--tests DIR]");
  process.exit(2);
}
if (dashboard) await buildDashboard(dashboard);
if (tests) await buildTests(tests);
