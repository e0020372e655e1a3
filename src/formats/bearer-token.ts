/**
 * Why `token` cannot be sent as `Authorization: Bearer <token>`, or undefined when it can. `token
 * set`, the token files (and so `token import-cx`) and CLOUD66_TOKEN ask this, so a token that
 * would make every request fail is refused where it is read, with the reason. A line break
 * would make Node refuse the header (a 500 on every call); a non-ASCII character is either refused
 * the same way or sent as bytes Cloud 66 never issued. The token itself is never in the answer.
 */
export function bearerTokenProblem(token: string): string | undefined {
  if (token === '') return 'is empty'
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(token)) return 'holds a control character (a line break, a tab, …); expected a single token'
  if (/\s/.test(token)) return 'holds more than one word; expected a single token'
  if (/[^\x21-\x7e]/.test(token)) return 'holds a character outside printable ASCII; expected a single token'
  return undefined
}
