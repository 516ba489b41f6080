#!/usr/bin/env node
/**
 * The `consentkit` executable.
 *
 * @since 0.1.0
 */
import { main } from "./cli/main.js"

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
})
