// Compiles contracts/src/*.sol with the pinned npm `solc` into contracts/build/ (run by `make contracts`).
//
// The artifacts are committed so that running the app needs no Node. build/source-hash.json records a
// sha256 over every input that decides the bytecode; tests/contracts/test_artifacts_are_fresh.py recomputes
// it in Python (see contracts/artifacts.py, `source_hash`) and fails when sources changed without a rebuild.
// Keep the two implementations of the hash in step.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");

const contractsDir = dirname(fileURLToPath(import.meta.url));
const repo = resolve(contractsDir, "..");
const srcDir = join(contractsDir, "src");
const buildDir = join(contractsDir, "build");
const nodeModules = join(repo, "node_modules");

const compilerConfigPath = join(contractsDir, "compiler.json");
const compilerConfig = JSON.parse(readFileSync(compilerConfigPath, "utf8"));
const solcVersion = solc.version();
if (!solcVersion.startsWith(`${compilerConfig.solc}+`)) {
  console.error(`solc ${solcVersion} is installed, contracts/compiler.json pins ${compilerConfig.solc}: run npm install`);
  process.exit(1);
}
// The hash names the version package.json pins (what Python can read without node_modules); refuse to
// compile against anything else.
const ozVersion = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).dependencies["@openzeppelin/contracts"];
const ozInstalled = JSON.parse(readFileSync(join(nodeModules, "@openzeppelin/contracts/package.json"), "utf8")).version;
if (ozInstalled !== ozVersion) {
  console.error(`@openzeppelin/contracts ${ozInstalled} is installed, package.json pins ${ozVersion}: run npm install`);
  process.exit(1);
}

const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const sourceFiles = readdirSync(srcDir).filter((name) => name.endsWith(".sol")).sort();

function sourceHash() {
  const lines = [`solc ${compilerConfig.solc}`, `openzeppelin ${ozVersion}`,
    `compiler.json ${sha256(readFileSync(compilerConfigPath))}`];
  for (const name of sourceFiles) lines.push(`src/${name} ${sha256(readFileSync(join(srcDir, name)))}`);
  return sha256(lines.join("\n") + "\n");
}

function findImport(path) {
  if (path.startsWith("@openzeppelin/")) {
    return { contents: readFileSync(join(nodeModules, path), "utf8") };
  }
  return { error: `import not found: ${path} (only @openzeppelin/ and files under contracts/src resolve)` };
}

const input = {
  language: "Solidity",
  sources: Object.fromEntries(sourceFiles.map((name) => [name, { content: readFileSync(join(srcDir, name), "utf8") }])),
  settings: compilerConfig.settings,
};
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
const problems = output.errors ?? [];
for (const problem of problems) console.error(problem.formattedMessage);
// Warnings fail the build too: they are cheap to fix now and easy to miss later.
if (problems.length > 0) process.exit(1);

rmSync(buildDir, { recursive: true, force: true });
mkdirSync(buildDir, { recursive: true });
const written = [];
for (const name of sourceFiles) {
  for (const [contractName, contract] of Object.entries(output.contracts[name] ?? {})) {
    const artifact = {
      contractName,
      sourceName: `contracts/src/${name}`,
      abi: contract.abi,
      bytecode: `0x${contract.evm.bytecode.object}`,
      deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
      // Byte ranges of the runtime code that the constructor fills in; deployment.py masks them when it
      // checks that the code at a stored address is this contract.
      immutableReferences: contract.evm.deployedBytecode.immutableReferences ?? {},
    };
    writeFileSync(join(buildDir, `${contractName}.json`), JSON.stringify(artifact, null, 2) + "\n");
    written.push(contractName);
  }
}
const manifest = {
  sourceHash: sourceHash(),
  compiler: solcVersion,
  openzeppelin: ozVersion,
  settings: compilerConfig.settings,
  contracts: written.sort(),
};
writeFileSync(join(buildDir, "source-hash.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`compiled ${written.join(", ")} with solc ${solcVersion} into ${relative(repo, buildDir)}/`);
