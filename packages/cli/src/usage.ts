/** The `consentkit --help` text. */
export const USAGE = `consentkit <command> --db <url|path> [options]

Commands:
  migrate   create or update the tables
              [--key <ed25519-pkcs8.pem> [--checkpoints <dir>]]  then sign a checkpoint of every tenant's log
  import    import legacy consents from CSV or JSON Lines (a file, or - for stdin)
              --policy <file> --tenant <id> [--format csv|jsonl] [--batch-size 1000] [--concurrency 16]
  export    print everything held about a subject as JSON
              --policy <file> --tenant <id> --subject <id>
  verify    verify hash chains: one subject, or every subject of a tenant
              --tenant <id> [--subject <id>]
            or audit the tenant's proof log against a signed checkpoint
              --tenant <id> --checkpoint <file> --public-key <pem> [--origin <name>]
  checkpoint  print a signed checkpoint (C2SP signed note) of the tenant's proof log
              --tenant <id> --key <ed25519-pkcs8.pem> (or CONSENTKIT_SIGNING_KEY) [--origin <name>]
  verify-receipt <receipt.jws>  check a signed receipt offline (no --db)
              --public-key <pem>
  erase     erase a subject (pseudonym secret: --secret or CONSENTKIT_SECRET)
              --policy <file> --tenant <id> --subject <id> [--requested-by <who>] [--adapters a,b]
  stats     consent counts per purpose, notice version, action and day, and outbox health
              --tenant <id> [--from <date>] [--to <date>] [--json]
  impact    who would lose what if a purpose got a new material notice version
              --policy <file> --tenant <id> --purpose <id> --version <n> [--effective-at <date>]

Options:
  --db <url|path>   sqlite:path, a *.sqlite/*.db file, :memory:, postgres://..., pglite:./dir, mysql://...
                    (default: CONSENTKIT_DB)
  --prefix <p>      table name prefix (default consentkit_)
  --policy <file>   policy as JSON (Policy.define's input) or an ES module default-exporting one

Exit codes: 0 done, 1 failed, 2 done but some rows were rejected, chains are broken or a proof failed, 64 usage.`
