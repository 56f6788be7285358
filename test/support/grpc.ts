/**
 * A unary gRPC call as a promise, for the tests that speak to a Pulumi plugin as the engine does
 * (the policy pack, the component provider) with the engine's generated stubs.
 */
import type { ServiceError } from "@grpc/grpc-js";

/** `start` calls the stub's method with the callback it is given: `unary<Res>((done) => client.method(request, done))`. */
export function unary<T>(start: (callback: (error: ServiceError | null, response: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, response) => (error ? reject(error) : resolve(response))));
}
