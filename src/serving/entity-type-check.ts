// The one check of a request's entity types: every endpoint refuses an unknown or repeated type
// alike, a 400 with the message `annotate` stops on (EntityTypes.canonicalTypes).
import type { EntityTypes } from '../stages/entity-types.js';
import { badRequest } from './http-exchange.js';

/** The canonical names of the requested types. */
export function knownTypes(entityTypes: EntityTypes, types: readonly string[]): string[] {
  try {
    return entityTypes.canonicalTypes(types);
  } catch (error) {
    throw badRequest((error as Error).message);
  }
}
