#!/usr/bin/env node
// Architecture diagrams of the synthesized app (make diagrams): one per stage and one per stack, drawn by
// cdk-dia's generator from cdk.out/tree.json and rendered to PNG by Graphviz.
//
//   node scripts/diagrams.cjs TREE_JSON OUT_DIR            write OUT_DIR/<stage>[-<Stack>].{dot,png}
//   node scripts/diagrams.cjs TREE_JSON OUT_DIR --check    exit 1 when a committed .dot differs (stale)
//
// The DOT text is what the check compares: it is a pure function of the construct tree, with icon paths
// relative to the project root (where Graphviz runs), so it is byte-identical on every machine. A PNG is
// rendered from exactly the DOT beside it.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync } = require("child_process");
const { AwsDiagramGenerator, AwsEdgeResolver, AwsIconSupplier, Graphviz, Tree } = require("cdk-dia");

const ICONS = "node_modules/cdk-dia"; // relative: the same text wherever the project lives
const DPI = 96; // cdk-dia draws for print (200 dpi); screen size keeps the PNGs small
const STAGE_FQN = "aws-cdk-lib.Stage";

function isStage(node) {
  return node.constructInfo && node.constructInfo.fqn === STAGE_FQN;
}

// The construct tree reduced to one stage, or to one stack of it.
function pruned(tree, stage, stack) {
  const stageNode = tree.tree.children[stage];
  const children = stack ? { [stack]: stageNode.children[stack] } : stageNode.children;
  return {
    version: tree.version,
    tree: { ...tree.tree, children: { [stage]: { ...stageNode, children } } },
  };
}

function toDot(treeObject) {
  const generator = new AwsDiagramGenerator(new AwsEdgeResolver(), new AwsIconSupplier(ICONS));
  const diagram = generator.generate(Tree.fromObject(treeObject), true, true);
  const scratch = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "diagram-")), "diagram.dot");
  new Graphviz().renderToDot(diagram, scratch);
  const dot = fs.readFileSync(scratch, "utf8").replace(/^(\s*)dpi = \d+;$/m, `$1dpi = ${DPI};`);
  fs.rmSync(path.dirname(scratch), { recursive: true, force: true });
  return dot.endsWith("\n") ? dot : `${dot}\n`;
}

// name -> DOT text of every diagram the tree holds.
function diagrams(tree) {
  const result = {};
  for (const [stage, node] of Object.entries(tree.tree.children)) {
    if (!isStage(node)) continue;
    result[stage] = toDot(pruned(tree, stage));
    for (const stack of Object.keys(node.children)) {
      result[`${stage}-${stack}`] = toDot(pruned(tree, stage, stack));
    }
  }
  return result;
}

function main([treePath, outDir, mode]) {
  if (!treePath || !outDir || (mode && mode !== "--check")) {
    console.error("usage: node scripts/diagrams.cjs TREE_JSON OUT_DIR [--check]");
    return 2;
  }
  const wanted = diagrams(JSON.parse(fs.readFileSync(treePath, "utf8")));
  if (mode === "--check") {
    const committed = fs.existsSync(outDir) ? fs.readdirSync(outDir).filter((f) => f.endsWith(".dot")) : [];
    const problems = [];
    for (const [name, dot] of Object.entries(wanted)) {
      const file = path.join(outDir, `${name}.dot`);
      if (!fs.existsSync(file)) problems.push(`missing: ${file}`);
      else if (fs.readFileSync(file, "utf8") !== dot) problems.push(`stale: ${file}`);
      if (!fs.existsSync(path.join(outDir, `${name}.png`))) problems.push(`missing: ${path.join(outDir, `${name}.png`)}`);
    }
    for (const file of committed) {
      if (!(file.slice(0, -4) in wanted)) problems.push(`no such stage or stack: ${path.join(outDir, file)}`);
    }
    for (const problem of problems) console.error(`diagrams: ${problem}`);
    if (problems.length) console.error("diagrams: run `make diagrams` and commit the result");
    else console.log(`diagrams: ${Object.keys(wanted).length} diagrams are current`);
    return problems.length ? 1 : 0;
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, dot] of Object.entries(wanted)) {
    const dotFile = path.join(outDir, `${name}.dot`);
    fs.writeFileSync(dotFile, dot);
    execFileSync("dot", ["-q", "-Tpng", dotFile, "-o", path.join(outDir, `${name}.png`)], { stdio: "inherit" });
    console.log(`diagrams: ${path.join(outDir, name)}.{dot,png}`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
