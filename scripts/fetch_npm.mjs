// fetch_npm.mjs URL OUT INTEGRITY: downloads npm's own tarball from the npm registry with node
// alone (a bare machine has no curl), checks it against the registry's dist.integrity (sha512)
// and writes it to OUT. Used by setup.sh instead of Debian's npm package, whose 335 node-*
// dependencies took half of a bare machine's set-up (docs/benchmarks.md, "Build time").
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { get } from "node:https";

const [url, out, integrity] = process.argv.slice(2);
const fail = (why) => {
  console.error(`setup: ${url}: ${why}`);
  process.exit(1);
};
get(url, (res) => {
  if (res.statusCode !== 200) fail(`HTTP ${res.statusCode}`);
  const chunks = [];
  res.on("data", (c) => chunks.push(c));
  res.on("end", () => {
    const body = Buffer.concat(chunks);
    const got = "sha512-" + createHash("sha512").update(body).digest("base64");
    if (got !== integrity) fail(`integrity ${got}, expected ${integrity}`);
    writeFileSync(out, body);
  });
}).on("error", (e) => fail(e.message));
