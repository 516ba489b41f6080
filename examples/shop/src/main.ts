/**
 * `npm run demo`: serves the shop on http://localhost:3000 (PORT to change it) over an SQLite file
 * (SHOP_DB, default `examples/shop/.data/shop.sqlite`), seeding it on first start.
 */
import { startShop } from "./shop.js"
import { OPERATOR } from "./app.js"

const port = Number(process.env.PORT ?? 3000)
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, not "${process.env.PORT}"`)
  process.exit(1)
}

const shop = await startShop({
  port,
  hostname: process.env.HOST ?? "127.0.0.1",
  database: process.env.SHOP_DB,
  customers: process.env.SEED_CUSTOMERS ? Number(process.env.SEED_CUSTOMERS) : undefined,
  publicUrl: process.env.PUBLIC_URL,
  secret: process.env.SHOP_SECRET,
  log: (line) => console.log(line),
})
const url = `http://localhost:${new URL(shop.url).port}`
console.log(`consentkit demo shop: ${url}`)
console.log(
  `  admin: ${url}/admin (user ${OPERATOR.user}, password ${shop.adminPassword}; kept beside the database in secrets.json)`,
)
console.log(`  sign in as somchai@example.co.th / siamtea · mailbox: ${url}/mailbox`)

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await shop.close()
  process.exit(0)
}
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
