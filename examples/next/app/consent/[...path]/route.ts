/** The consent routes (`/consent/state`, `/consent/record`, …): Next's Web `Request` goes straight to the handler. */
import { consent } from "../../../lib/kit"

export const dynamic = "force-dynamic"

const handle = (request: Request) => consent().handler(request)

export const GET = handle
export const POST = handle
