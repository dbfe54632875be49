// Checks shared/contract/asyncapi.yaml with the official AsyncAPI parser (@asyncapi/parser, the one
// `asyncapi validate` uses): the AsyncAPI 3.0.0 JSON Schema, every $ref resolved (the payload schema
// files included), and the parser's own rules. Offline: it reads local files only.
// Usage: node shared/contract/check-asyncapi.cjs NODE_MODULES_DIR [DOCUMENT]
// deploy/check.sh installs the parser into .cache/asyncapi-check and runs this; exits 1 on any error
// or warning.
"use strict";

const path = require("path");

async function main() {
  const [modules, document = path.join(__dirname, "asyncapi.yaml")] = process.argv.slice(2);
  if (!modules) {
    console.error("usage: check-asyncapi.cjs NODE_MODULES_DIR [DOCUMENT]");
    return 2;
  }
  const { Parser, fromFile } = require(path.join(path.resolve(modules), "@asyncapi", "parser"));
  const parser = new Parser();
  const { document: parsed, diagnostics } = await fromFile(parser, path.resolve(document)).parse();
  const severities = ["error", "warning", "info", "hint"];
  let failed = parsed === undefined;
  for (const d of diagnostics) {
    const where = d.path && d.path.length ? d.path.join("/") : "(document)";
    console.log(`${severities[d.severity] || d.severity}  ${d.code}  ${where}: ${d.message}`);
    if (d.severity <= 1) failed = true;
  }
  if (parsed !== undefined) {
    const channels = parsed.channels().all().length;
    const messages = parsed.allMessages().all().length;
    const operations = parsed.operations().all().length;
    console.log(`parsed AsyncAPI ${parsed.version()}: ${channels} channels, ${messages} messages, ${operations} operations`);
  }
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
