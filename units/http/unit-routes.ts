/**
 * A unit's routes as a fastify plugin: its params and query strings are checked by the zod
 * schemas each route declares (handlers get them typed), and whatever a route throws is
 * answered by the one error mapping. Set in each unit's plugin, not once on the server: a
 * unit's routes are also registered on their own (the units' tests, the simulation), and
 * fastify keeps compilers and error handlers per plugin.
 *
 * Responses are serialized with zod only where a route declares a response schema; the AO
 * routes declare none, so what aoconnect reads stays exactly what the handlers send.
 */
import type { FastifyPluginAsync } from 'fastify';
import { serializerCompiler, validatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorMapping } from './error-mapping.js';

/** The fastify instance a unit's routes are declared on, typed by their zod schemas. */
export type UnitApp = Parameters<FastifyPluginAsyncZod>[0];

/**
 * `errorHandler` is the mapping, or a unit's handler that answers one case of its own and hands
 * the rest to the mapping (the CU's 202 for an evaluation still running).
 */
export function unitRoutes(routes: (app: UnitApp) => Promise<void> | void, errorHandler: typeof errorMapping = errorMapping): FastifyPluginAsync {
  return async (app) => {
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    app.setErrorHandler(errorHandler);
    await routes(app.withTypeProvider());
  };
}
