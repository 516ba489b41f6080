/**
 * @consentkit/cli: the `consentkit` command for operators (migrate, import, export, verify,
 * erase, stats, impact) over any database `@consentkit/storage-kysely` opens.
 *
 * @since 0.1.0
 */
export { type Io, main, run } from "./main.js"
export { auditReport, signCheckpoint } from "./proof.js"
