/**
 * The operator's routes (history, export, erase, erasure status): 403 unless the host app's
 * `authorizeOperator` hook says yes.
 *
 * @since 0.2.0
 */
import type { Ledger } from "@consentkit/core"
import { compile, type Compiled } from "../internal/router.js"
import type { Session } from "../internal/session.js"
import { jsonOf } from "../internal/body.js"
import { failure, json, objectBody } from "../internal/wire.js"
import type { HandlerOptions, Kit } from "../types.js"

export const operatorRoutes = (kit: Kit, options: HandlerOptions, session: Session): Array<Compiled> => {
  const { tenantOf, guardWrite } = session

  /** Operator routes answer 403 unless the host app's hook says yes. */
  const operator =
    (act: (request: Request, tenant: string, params: Record<string, string>) => Promise<Response>) =>
    async (request: Request, params: Record<string, string>): Promise<Response> => {
      const tenant = await tenantOf(request)
      // The hook is told the tenant, so an operator of one tenant is not let into another's subjects.
      if (!options.authorizeOperator || (await options.authorizeOperator(request, { tenant })) !== true) {
        return failure(403, "FORBIDDEN", "operator routes need an authorized operator")
      }
      return act(request, tenant, params)
    }
  return [
    compile(
      "GET",
      "/subjects/:subject/history",
      operator(async (request, tenant, { subject }) => {
        const purpose = new URL(request.url).searchParams.get("purpose") ?? undefined
        const history: ReadonlyArray<Ledger.ConsentEvent> = await kit.history(
          tenant,
          subject!,
          purpose ? { purpose } : undefined,
        )
        return json(200, { events: history })
      }),
    ),
    compile(
      "GET",
      "/subjects/:subject/export",
      operator(async (_request, tenant, { subject }) => json(200, await kit.export(tenant, subject!))),
    ),
    compile(
      "POST",
      "/subjects/:subject/erase",
      operator(async (request, tenant, { subject }) => {
        guardWrite(request)
        const body = await jsonOf(request)
        const requestedBy = body === undefined ? undefined : objectBody(body).requestedBy
        return json(
          202,
          await kit.erase({
            tenant,
            subject: subject!,
            ...(requestedBy !== undefined ? { requestedBy } : {}),
          } as never),
        )
      }),
    ),
    compile(
      "GET",
      "/erasures/:id",
      operator(async (_request, tenant, { id }) => json(200, await kit.erasureStatus(tenant, id!))),
    ),
  ]
}
