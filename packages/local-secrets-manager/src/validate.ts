import { ServiceError, validation } from './errors.js';

export type FieldType = 'string' | 'integer' | 'boolean' | 'list' | 'structure';

/** Member name → [type, required]. Unknown members are ignored, as AWS does. */
export type InputShape = Record<string, readonly [FieldType, boolean]>;

export type Input = Record<string, unknown>;

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/** Checks JSON types and required members; AWS answers SerializationException / ValidationException. */
export function checkShape(input: Input, shape: InputShape): void {
  const missing: string[] = [];
  for (const [member, [type, required]] of Object.entries(shape)) {
    const value = input[member];
    if (value === undefined || value === null) {
      if (required) missing.push(member);
      continue;
    }
    const ok =
      type === 'string'
        ? typeof value === 'string'
        : type === 'integer'
          ? typeof value === 'number' && Number.isInteger(value)
          : type === 'boolean'
            ? typeof value === 'boolean'
            : type === 'list'
              ? Array.isArray(value)
              : typeof value === 'object' && !Array.isArray(value);
    if (!ok) {
      throw new ServiceError('SerializationException', `Member ${member} must be of type ${type}.`);
    }
  }
  if (missing.length > 0) {
    const details = missing.map(
      (m) => `Value null at '${lowerFirst(m)}' failed to satisfy constraint: Member must not be null`,
    );
    throw validation(
      `${missing.length} validation error${missing.length > 1 ? 's' : ''} detected: ${details.join('; ')}`,
    );
  }
}

// A JSON null is an absent member (checkShape lets it through as one), never a value.
export const str = (input: Input, member: string): string | undefined =>
  (input[member] ?? undefined) as string | undefined;
export const int = (input: Input, member: string): number | undefined =>
  (input[member] ?? undefined) as number | undefined;
export const bool = (input: Input, member: string): boolean | undefined =>
  (input[member] ?? undefined) as boolean | undefined;

/** Checks a string member's length; AWS's wording for constraint violations. */
export function checkLength(input: Input, member: string, min: number, max: number): void {
  const value = str(input, member);
  if (value === undefined) return;
  if (value.length < min || value.length > max) {
    const bound = value.length < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`;
    throw validation(
      `1 validation error detected: Value at '${lowerFirst(member)}' failed to satisfy constraint: Member must have length ${bound}`,
    );
  }
}
