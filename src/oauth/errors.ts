// Kept apart from client.ts so that code which only needs the error class does not load
// oauth4webapi (local mode without OAuth configured never does).
/** The outcome classes the rest of the proxy cares about; the OAuth server's own text is never shown. */
export class OAuthError extends Error {
  override readonly name = 'OAuthError'
  constructor(
    readonly kind: 'invalid_grant' | 'rejected' | 'unavailable' | 'invalid_response',
    /** The RFC 6749 §5.2 error code when the server sent one (safe to show: a fixed vocabulary). */
    readonly oauthError: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** The out-of-band redirect URI of Doorkeeper and the older toolbelts: the user pastes the code shown in the browser. */
export const OOB_REDIRECT_URI = 'urn:ietf:wg:oauth:2.0:oob'
