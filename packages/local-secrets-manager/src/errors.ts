/** An error answered to the client as `{"__type": shape, "Message": message}` with `status`. */
export class ServiceError extends Error {
  readonly shape: string;
  readonly status: number;

  constructor(shape: string, message: string, status = 400, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServiceError';
    this.shape = shape;
    this.status = status;
  }
}

export const notFound = (message = "Secrets Manager can't find the specified secret."): ServiceError =>
  new ServiceError('ResourceNotFoundException', message);

export const invalidParameter = (message: string): ServiceError =>
  new ServiceError('InvalidParameterException', message);

export const invalidRequest = (message: string): ServiceError => new ServiceError('InvalidRequestException', message);

export const validation = (message: string): ServiceError => new ServiceError('ValidationException', message);

export const MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion.";

/** Refuses a change to a secret another service manages (AWS: InvalidRequestException, "use that service"). */
export function refuseIfManaged(secret: { name: string; owningService?: string }): void {
  if (secret.owningService === undefined) return;
  throw invalidRequest(
    `You can't modify secret ${secret.name} because it's managed by ${secret.owningService}. Use that service to update it (local Secrets Manager: rotateManagedSecret).`,
  );
}
